/** Callback bodies the end-to-end tests post: one text from `user-<chatId>` to `bot-1`. */
export function textCallbackBody(chatId: string, mid: string, text: string): string {
  return JSON.stringify({
    mType: 'message',
    chatId,
    from: `user-${chatId}`,
    to: 'bot-1',
    mTok: `tok-${chatId}`,
    messages: [{ index: 1, type: 'text', mid, ts: Date.now(), text }],
    userInfos: { [`user-${chatId}`]: { name: 'Alice' } },
  });
}
