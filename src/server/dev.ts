/**
 * `npm run dev`: the bot from source, reloaded on change by tsx. Works with no configuration: a
 * missing BBM_SIG_KEY is generated for the session and printed, with a signed curl to try.
 */
import { randomBytes } from 'node:crypto';
import { BbmError } from '../protocol/errors.js';
import { signBody } from '../webhook/signature.js';
import { runFromEnvironment } from './run.js';

if (!process.env.BBM_SIG_KEY) process.env.BBM_SIG_KEY = randomBytes(32).toString('hex');

try {
  const running = await runFromEnvironment();
  const key = running.config.sigKeys[0]!;
  const body = JSON.stringify({
    mType: 'message',
    chatId: '837680',
    from: '100006006205',
    to: '31045128202',
    mTok: 'dev-token',
    messages: [{ index: 1, type: 'text', mid: `m${Date.now()}`, ts: Date.now(), text: 'Hello World!' }],
    userInfos: { '100006006205': { name: 'Alice' } },
  });
  process.stdout.write(
    `\nDev server for bot "${running.config.bot}" at ${running.url}/v1/chats (BBM_SIG_KEY=${key})\n` +
      `Try it:\n  curl -i ${running.url}/v1/chats -H 'content-type: application/json' \\\n` +
      `    -H 'BBM-Sig: ${signBody(body, key)}' \\\n    --data '${body}'\n\n`,
  );
} catch (err) {
  const message = err instanceof BbmError && err.code === 'CONFIG_INVALID' ? `Configuration error: ${err.message}` : `Startup failed: ${String(err)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
