/**
 * `BBM-Sig`: base64(HMAC-SHA256(key, raw body)). The key is the UTF-8 bytes of the Client Sig key
 * string exactly as provisioned, never hex-decoded (the spec's Java sample uses `getBytes()`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A base64 SHA-256 digest is always 44 characters: 43 alphabet characters and one `=`. */
const SIGNATURE_LENGTH = 44;

/** The canonical base64 of a 32-byte digest: 43 alphabet characters, then one `=`. */
const SIGNATURE_SHAPE = /^[A-Za-z0-9+/]{43}=$/;

/**
 * True when `header` could be a signature at all. The webhook checks this before reading the body,
 * so a client without a plausible signature cannot make the server buffer and HMAC a body.
 *
 * @example isWellFormedSignature(signBody('{}', key)) // true; isWellFormedSignature('abc') // false
 */
export function isWellFormedSignature(header: string): boolean {
  return header.length === SIGNATURE_LENGTH && SIGNATURE_SHAPE.test(header);
}

/** The `BBM-Sig` value for a body: for tests, curl, tooling and the emulator. */
export function signBody(body: string | Uint8Array, key: string): string {
  return createHmac('sha256', key).update(body).digest('base64');
}

/**
 * True when `header` is the signature of `rawBody` under any of `keys`.
 *
 * Only the canonical base64 form is accepted (standard alphabet, with padding, no whitespace):
 * the comparison is of the encoded strings, in constant time, so URL-safe, unpadded or otherwise
 * re-encoded signatures fail. BBM produces the canonical form.
 */
export function verifySignature(
  rawBody: Uint8Array,
  header: string | undefined | null,
  keys: string | readonly string[],
): boolean {
  if (typeof header !== 'string' || header.length !== SIGNATURE_LENGTH) return false;
  // Latin-1 keeps one byte per character, so a non-ASCII header cannot change the length.
  const given = Buffer.from(header, 'latin1');
  const list = typeof keys === 'string' ? [keys] : keys;
  let ok = false;
  // Check every key, even after a match, so timing does not reveal which key matched.
  for (const key of list) {
    const expected = Buffer.from(signBody(rawBody, key), 'latin1');
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

/** Splits a comma-separated key list (rotation): `old,new`. Empty items are dropped. */
export function parseKeyList(value: string): string[] {
  return value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
}
