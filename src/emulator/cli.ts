/**
 * `npm run emulator -- [--bot-url <url>] [--sig-key <key>] ...`: the emulator alone, driving a bot
 * that runs elsewhere (any framework, any language). Prints what to configure the bot with.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { BbmError } from '../protocol/errors.js';
import { startEmulator, type EmulatorOptions } from './emulator.js';

const USAGE = `Usage: npm run emulator -- [options]

  --bot-url <url>                   the bot's callback URL (…/v1/chats is added when missing)
  --sig-key <key>                   the Client Sig key to sign callbacks with (default: generated)
  --client-credentials <base64>     what the token service accepts (default: generated)
  --port <n>                        where the emulator listens (default 3978, EMULATOR_PORT)
  --host <addr>                     interface to listen on (default 127.0.0.1)
  --delivery-notifications on|off   202 + dlv/read actions, as a channel with them on (default off)
  --token-ttl <seconds>             access token lifetime (default 3600)
  --user <name>                     a user to start with (repeatable; default Alice)
  -h, --help                        this text
`;

const ArgsSchema = z.object({
  'bot-url': z.string().optional(),
  'sig-key': z.string().min(1, 'must not be empty').optional(),
  'client-credentials': z.string().min(1, 'must not be empty').optional(),
  port: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n <= 65535, 'must be at most 65535')
    .optional(),
  host: z.string().min(1).optional(),
  'delivery-notifications': z.enum(['on', 'off'], { error: 'must be "on" or "off"' }).optional(),
  'token-ttl': z
    .string()
    .regex(/^\d+$/, 'must be a whole number of seconds')
    .transform(Number)
    .refine((n) => n >= 1, 'must be at least 1')
    .optional(),
  user: z.array(z.string().trim().min(1, 'must not be empty')).optional(),
});

/** Turns argv (and EMULATOR_PORT) into options; throws a one-line message on a bad flag. */
export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): EmulatorOptions | 'help' {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        'bot-url': { type: 'string' },
        'sig-key': { type: 'string' },
        'client-credentials': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'delivery-notifications': { type: 'string' },
        'token-ttl': { type: 'string' },
        user: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new BbmError('BAD_ARGUMENT', err instanceof Error ? err.message : String(err));
  }
  if (values.help === true) return 'help';
  delete values.help;
  if (values.port === undefined && env.EMULATOR_PORT) values.port = env.EMULATOR_PORT;
  const parsed = ArgsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BbmError('BAD_ARGUMENT', `--${String(issue.path[0])} ${issue.message}`, { field: String(issue.path[0]) });
  }
  const a = parsed.data;
  return {
    ...(a['bot-url'] !== undefined ? { botUrl: a['bot-url'] } : {}),
    ...(a['sig-key'] !== undefined ? { sigKey: a['sig-key'] } : {}),
    ...(a['client-credentials'] !== undefined ? { clientCredentials: a['client-credentials'] } : {}),
    ...(a.port !== undefined ? { port: a.port } : {}),
    ...(a.host !== undefined ? { host: a.host } : {}),
    ...(a['delivery-notifications'] !== undefined ? { deliveryNotifications: a['delivery-notifications'] === 'on' } : {}),
    ...(a['token-ttl'] !== undefined ? { tokenTtlSeconds: a['token-ttl'] } : {}),
    ...(a.user !== undefined ? { users: a.user } : {}),
  };
}

async function main(): Promise<void> {
  let options: EmulatorOptions | 'help';
  try {
    options = parseCliArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`emulator: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  let emulator;
  try {
    emulator = await startEmulator(options);
  } catch (err) {
    const port = options.port ?? 3978;
    const message =
      err instanceof BbmError && err.code === 'PORT_IN_USE'
        ? `port ${port} is in use: stop what uses it, or pass --port <n> (or set EMULATOR_PORT)`
        : err instanceof Error
          ? err.message
          : String(err);
    process.stderr.write(`emulator: ${message}\n`);
    process.exit(1);
  }
  const e = emulator;
  process.stdout.write(
    [
      '',
      `  BBM emulator running — web chat: ${e.url}/`,
      '',
      '  Give your bot these (environment variables of this framework, or your own):',
      `    BBM_TOKEN_URL=${e.tokenUrl}`,
      `    BBM_API_URL=${e.apiUrl}            (Chat API: POST ${e.apiUrl}/v1/chats/<chatId>?mTok=…)`,
      `    BBM_CLIENT_CREDENTIALS=${e.clientCredentials}`,
      `    BBM_SIG_KEY=${e.sigKey}`,
      `    BBM_DELIVERY_NOTIFICATIONS=${e.deliveryNotifications ? 'on' : 'off'}`,
      '',
      e.botUrl
        ? `  Callbacks go to ${e.botUrl}`
        : '  No bot URL yet: restart with --bot-url http://127.0.0.1:3000 (callbacks fail until then)',
      '  Ctrl-C stops.',
      '',
    ].join('\n'),
  );
  const stop = () => {
    e.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// Only when run as a program, so tests can import parseCliArgs.
if (process.argv[1] !== undefined && /emulator[\\/]cli\.(ts|js)$/.test(process.argv[1])) await main();
