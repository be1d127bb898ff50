import { loadConfig, type AppConfig } from '../../src/index.js';

/** Where a test's bot finds its (fake) BBM platform. */
export interface PlatformEndpoints {
  sigKey: string;
  clientCredentials: string;
  tokenUrl: string;
  apiUrl: string;
}

/** A bot's configuration on 127.0.0.1, port 0, logs silent, against `platform`; `env` adds or overrides settings. */
export function localBotConfig(platform: PlatformEndpoints, env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    envFile: false,
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      BBM_SIG_KEY: platform.sigKey,
      BBM_CLIENT_CREDENTIALS: platform.clientCredentials,
      BBM_TOKEN_URL: platform.tokenUrl,
      BBM_API_URL: platform.apiUrl,
      ...env,
    },
  });
}
