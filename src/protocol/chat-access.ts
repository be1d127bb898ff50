/**
 * The platform's rules for who may send into a chat, in one place for every stand-in of the
 * platform (the emulator and the test kit's fake Chat API both import it, so they cannot drift): a
 * chat is open until the user leaves; a send needs the chat's current message token; after a leave
 * nothing more may be sent (404 `chat_closed`); reopening issues a new token and the old ones are
 * refused (403). A refusal is data (status, code, message, field), which each side turns into its
 * own HTTP answer. Pure: no I/O, no timers.
 */
import { BbmError } from './errors.js';

/** Why the platform refuses a request: the HTTP status, a stable code, a sentence, the offending field. */
export interface ChatRefusal {
  status: 403 | 404 | 409;
  code: 'forbidden' | 'chat_closed' | 'chat_open';
  message: string;
  field?: string;
}

/** A refusal thrown rather than answered (the test harness refusing a user's action in a chat they left). */
export class ChatRefusedError extends BbmError {
  readonly status: ChatRefusal['status'];

  constructor(refusal: ChatRefusal) {
    super(refusal.code.toUpperCase(), refusal.message, { field: refusal.field ?? 'chatId' });
    this.status = refusal.status;
  }
}

/** One chat's access state: open or closed, its current message token, the tokens of earlier sessions. */
export class ChatAccess {
  private openNow = true;
  private token: string;
  private readonly pastTokens = new Set<string>();

  /**
   * @example const access = new ChatAccess('123456789', mTok);
   */
  constructor(
    readonly chatId: string,
    mTok: string,
  ) {
    this.token = mTok;
  }

  /** Whether the user is in the chat (has not left, or reopened it). */
  get open(): boolean {
    return this.openNow;
  }

  /** The message token a send must carry now. */
  get mTok(): string {
    return this.token;
  }

  /**
   * The user left: the chat closes at once, its token stays known (a send with it gets 404).
   *
   * @example access.leave(); access.sendRefusal(access.mTok)?.code; // 'chat_closed'
   */
  leave(): void {
    this.openNow = false;
  }

  /**
   * The user opens the chat again with a new token; the earlier ones are refused from now on.
   * Refused (409 `chat_open`) while the chat is open.
   *
   * @example if (!access.reopen(newToken)) sendCallbackWith(newToken);
   */
  reopen(mTok: string): ChatRefusal | undefined {
    if (this.openNow) {
      return { status: 409, code: 'chat_open', message: `chat ${this.chatId} is open: only a chat the user left can be reopened` };
    }
    this.replaceToken(mTok);
    this.openNow = true;
    return undefined;
  }

  /**
   * A new token for the chat (the one in its latest callback); the old one joins the refused ones.
   *
   * @example access.replaceToken(callback.mTok);
   */
  replaceToken(mTok: string): void {
    if (mTok === this.token) return;
    this.pastTokens.add(this.token);
    this.pastTokens.delete(mTok);
    this.token = mTok;
  }

  /**
   * Whether the bot may send into the chat with `mTok`: undefined when it may, else the refusal. The
   * token is checked first (403), then whether the user is still there (404 `chat_closed`).
   *
   * @example const refusal = access.sendRefusal(url.searchParams.get('mTok'));
   */
  sendRefusal(mTok: string | null | undefined): ChatRefusal | undefined {
    if (mTok === null || mTok === undefined || mTok === '') {
      return { status: 403, code: 'forbidden', message: 'the mTok query parameter is required: use the one from the latest callback for this chat', field: 'mTok' };
    }
    if (mTok !== this.token) {
      const message = this.pastTokens.has(mTok)
        ? "this mTok belongs to an earlier session of the chat; use the one from the user's latest callback"
        : 'the mTok is not the one issued for this chat';
      return { status: 403, code: 'forbidden', message, field: 'mTok' };
    }
    if (!this.openNow) {
      return { status: 404, code: 'chat_closed', message: `the user left chat ${this.chatId}: nothing more can be sent to it` };
    }
    return undefined;
  }

  /**
   * Whether the user may act in the chat (send, tap, type, leave): not after leaving, until reopened.
   *
   * @example const refusal = access.userActionRefusal('Alice');
   */
  userActionRefusal(userName: string): ChatRefusal | undefined {
    if (this.openNow) return undefined;
    return { status: 409, code: 'chat_closed', message: `${userName} left chat ${this.chatId}: reopen it first` };
  }
}
