import { createHmac } from 'node:crypto';
import { parseKeyList, signBody, verifySignature } from '../../src/webhook/signature.js';
import { KEY } from './helpers.js';

const BODY = Buffer.from('{"mType":"message","chatId":"837680","from":"100006006205","to":"31045128202","userInfos":{}}');
const hmac = (key: Buffer | string, body: Buffer | string) => createHmac('sha256', key).update(body).digest('base64');

/** Some body whose signature contains `+` or `/`, so the URL-safe alphabet gives a different string. */
function bodyWithUrlUnsafeSignature(): { body: Buffer; sig: string } {
  for (let i = 0; ; i++) {
    const body = Buffer.from(`{"n":${i}}`);
    const sig = signBody(body, KEY);
    if (/[+/]/.test(sig)) return { body, sig };
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

describe('signBody', () => {
  it('is base64(HMAC-SHA256) keyed with the UTF-8 bytes of the key string', () => {
    expect(signBody(BODY, KEY)).toBe(hmac(Buffer.from(KEY, 'utf8'), BODY));
    expect(signBody(BODY, KEY)).toHaveLength(44);
  });

  it('signs strings as their UTF-8 bytes', () => {
    expect(signBody('{"t":"café"}', KEY)).toBe(signBody(Buffer.from('{"t":"café"}', 'utf8'), KEY));
  });
});

describe('verifySignature', () => {
  it('accepts the signature made with the key string', () => {
    expect(verifySignature(BODY, signBody(BODY, KEY), KEY)).toBe(true);
    expect(verifySignature(BODY, signBody(BODY, KEY), [KEY])).toBe(true);
  });

  it('keys with the UTF-8 bytes of a non-ASCII key', () => {
    const key = 'clé-ünïcode-🔑';
    const sig = hmac(Buffer.from(key, 'utf8'), BODY);
    expect(verifySignature(BODY, sig, key)).toBe(true);
    // Latin-1 or UTF-16 bytes of the same string are other keys.
    expect(verifySignature(BODY, hmac(Buffer.from(key, 'latin1'), BODY), key)).toBe(false);
    expect(verifySignature(BODY, hmac(Buffer.from(key, 'utf16le'), BODY), key)).toBe(false);
  });

  it('rejects a signature made with the hex-DECODED key (the key is never hex-decoded)', () => {
    const decoded = Buffer.from(KEY, 'hex');
    expect(decoded).toHaveLength(32);
    const wrong = hmac(decoded, BODY);
    expect(verifySignature(BODY, wrong, KEY)).toBe(false);
  });

  it('rejects a tampered body', () => {
    const sig = signBody(BODY, KEY);
    const tampered = Buffer.from(BODY);
    const at = tampered.length - 3;
    tampered[at] = tampered[at]! ^ 0x01;
    expect(verifySignature(tampered, sig, KEY)).toBe(false);
    expect(verifySignature(Buffer.concat([BODY, Buffer.from(' ')]), sig, KEY)).toBe(false);
    expect(verifySignature(Buffer.alloc(0), sig, KEY)).toBe(false);
  });

  it('rejects a missing or empty header', () => {
    expect(verifySignature(BODY, undefined, KEY)).toBe(false);
    expect(verifySignature(BODY, null, KEY)).toBe(false);
    expect(verifySignature(BODY, '', KEY)).toBe(false);
  });

  it('accepts every configured key while rotating, and only those', () => {
    const [oldKey, newKey] = ['old-client-sig-key', 'new-client-sig-key'];
    expect(verifySignature(BODY, signBody(BODY, oldKey), [oldKey, newKey])).toBe(true);
    expect(verifySignature(BODY, signBody(BODY, newKey), [oldKey, newKey])).toBe(true);
    expect(verifySignature(BODY, signBody(BODY, 'third-key'), [oldKey, newKey])).toBe(false);
    expect(verifySignature(BODY, signBody(BODY, oldKey), [])).toBe(false);
  });

  it('verifies the exact bytes received: odd whitespace and \\u escapes pass, a re-serialization does not', () => {
    const raw = Buffer.from(
      '{ "mType" :"message",\n\t"chatId":"837680" ,"from":"100006006205","to":"31045128202",\r\n' +
        '  "messages":[{"type":"text","mid":"m1","text":"caf\\u00e9 cr\\u00e8me \\ud83d\\ude00"}],"userInfos":{} }  \n',
      'utf8',
    );
    const sig = signBody(raw, KEY);
    expect(verifySignature(raw, sig, KEY)).toBe(true);

    const reserialized = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))), 'utf8');
    expect(reserialized.equals(raw)).toBe(false);
    expect(verifySignature(reserialized, sig, KEY)).toBe(false);
    // Same text with the escapes decoded to UTF-8 is still other bytes.
    const unescaped = Buffer.from(raw.toString('utf8').replace('caf\\u00e9', 'café'), 'utf8');
    expect(verifySignature(unescaped, sig, KEY)).toBe(false);
  });

  it('rejects a signature of the wrong length', () => {
    const sig = signBody(BODY, KEY);
    expect(verifySignature(BODY, sig + 'A', KEY)).toBe(false);
    expect(verifySignature(BODY, sig.slice(0, 40), KEY)).toBe(false);
    expect(verifySignature(BODY, `${sig}${sig}`, KEY)).toBe(false);
    expect(verifySignature(BODY, 'x'.repeat(10_000), KEY)).toBe(false);
    // A hex digest is the right MAC in the wrong encoding.
    expect(verifySignature(BODY, createHmac('sha256', KEY).update(BODY).digest('hex'), KEY)).toBe(false);
  });

  it('rejects text that is not base64, even at the right length', () => {
    expect(verifySignature(BODY, '!'.repeat(44), KEY)).toBe(false);
    expect(verifySignature(BODY, `${'*'.repeat(43)}=`, KEY)).toBe(false);
    expect(verifySignature(BODY, `${'é'.repeat(43)}=`, KEY)).toBe(false);
  });

  describe('pinned: only the canonical base64 form is accepted', () => {
    it('rejects the URL-safe alphabet', () => {
      const { body, sig } = bodyWithUrlUnsafeSignature();
      const urlSafe = sig.replace(/\+/g, '-').replace(/\//g, '_');
      expect(Buffer.from(urlSafe, 'base64url').equals(Buffer.from(sig, 'base64'))).toBe(true);
      expect(verifySignature(body, sig, KEY)).toBe(true);
      expect(verifySignature(body, urlSafe, KEY)).toBe(false);
    });

    it('rejects a signature without its padding', () => {
      const sig = signBody(BODY, KEY);
      expect(sig.endsWith('=')).toBe(true);
      expect(verifySignature(BODY, sig.replace(/=+$/, ''), KEY)).toBe(false);
    });

    it('rejects altered trailing bits that decode to the same digest', () => {
      const sig = signBody(BODY, KEY);
      // 32 bytes = 256 bits; the 43rd character carries 4 data bits and 2 unused ones.
      const last = sig[42]!;
      const altered = `${sig.slice(0, 42)}${B64[B64.indexOf(last) ^ 0b01]}=`;
      expect(altered).not.toBe(sig);
      expect(Buffer.from(altered, 'base64').equals(Buffer.from(sig, 'base64'))).toBe(true);
      expect(verifySignature(BODY, altered, KEY)).toBe(false);
    });

    it('rejects surrounding or embedded whitespace', () => {
      const sig = signBody(BODY, KEY);
      expect(verifySignature(BODY, ` ${sig}`, KEY)).toBe(false);
      expect(verifySignature(BODY, `${sig.slice(0, 20)} ${sig.slice(20, 43)}`, KEY)).toBe(false);
    });
  });
});

describe('parseKeyList', () => {
  it('splits a comma-separated list, trimming and dropping empty items', () => {
    expect(parseKeyList('old-key, new-key')).toEqual(['old-key', 'new-key']);
    expect(parseKeyList(' only ')).toEqual(['only']);
    expect(parseKeyList(' , ,')).toEqual([]);
    expect(parseKeyList(`${KEY},,other`)).toEqual([KEY, 'other']);
  });
});
