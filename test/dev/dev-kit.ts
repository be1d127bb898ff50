/**
 * What the `npm run dev` tests share: whether a bot run by the runner answers right now.
 */
import { http } from '../emulator/helpers.js';

/**
 * True when `url` answers 200 now; false for any other status or no answer at all.
 *
 * @example
 * await until(() => healthy(`http://127.0.0.1:${botPort}/healthz`), 'the bot to answer', 10_000, 50);
 */
export async function healthy(url: string): Promise<boolean> {
  try {
    return (await http('GET', url)).status === 200;
  } catch {
    return false;
  }
}
