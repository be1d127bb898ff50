/**
 * Store keys are built from ids that arrive off the wire, joined with `:`. An id may itself hold a
 * `:` (chat `a:b` + mid `c` must not be chat `a` + mid `b:c`), so each part is escaped: `%` and `:`
 * become `%25` and `%3A`. Ids without either (nearly all) are used as they are, at no cost.
 *
 * @example storeKey('sent', chatId, mid) // 'sent:837680:m1', 'sent:a%3Ab:c'
 */
const NEEDS_ESCAPE = /[%:]/;

export function keyPart(id: string): string {
  return NEEDS_ESCAPE.test(id) ? id.replace(/%/g, '%25').replace(/:/g, '%3A') : id;
}

/** `kind:part:part…`, every part escaped. */
export function storeKey(kind: string, ...parts: readonly string[]): string {
  let key = kind;
  for (const part of parts) key += `:${keyPart(part)}`;
  return key;
}
