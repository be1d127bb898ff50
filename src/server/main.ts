/**
 * `npm start` / `npm run dev`: load the configuration, the bot named by BOT, and serve its webhook.
 * A bad setting ends the process with one line naming it and exit code 1. Anything else (a bot
 * module that throws while it loads) adds its stack, so the file and line of the mistake show.
 */
import { BbmError } from '../protocol/errors.js';
import { runFromEnvironment } from './run.js';

runFromEnvironment().catch((err: unknown) => {
  if (err instanceof BbmError && err.code === 'CONFIG_INVALID') {
    process.stderr.write(`Configuration error: ${err.message}\n`);
  } else if (err instanceof BbmError || !(err instanceof Error)) {
    process.stderr.write(`Startup failed: ${err instanceof Error ? err.message : String(err)}\n`);
  } else {
    const frames = (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
    process.stderr.write(`Startup failed: ${err.message}\n${frames.join('\n')}${frames.length ? '\n' : ''}`);
  }
  process.exit(1);
});
