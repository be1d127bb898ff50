/**
 * `npm start` / `npm run dev`: load the configuration, the bot named by BOT, and serve its webhook.
 * A bad setting ends the process with one line naming it and exit code 1.
 */
import { BbmError } from '../protocol/errors.js';
import { runFromEnvironment } from './run.js';

runFromEnvironment().catch((err: unknown) => {
  if (err instanceof BbmError && err.code === 'CONFIG_INVALID') {
    process.stderr.write(`Configuration error: ${err.message}\n`);
  } else {
    process.stderr.write(`Startup failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
