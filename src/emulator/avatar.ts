/**
 * Avatars for emulated users: a small SVG with the user's initials on a colour picked from the id,
 * served by the emulator so that `userInfos[...].avatar` carries a real, fetchable URL.
 */
import { createHash } from 'node:crypto';

const COLOURS = ['#1e88e5', '#43a047', '#e53935', '#8e24aa', '#fb8c00', '#00897b', '#3949ab', '#d81b60', '#6d4c41', '#546e7a'];

export function avatarColour(id: string): string {
  const n = createHash('sha1').update(id).digest()[0]!;
  return COLOURS[n % COLOURS.length]!;
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length >= 2 ? [words[0]!, words[words.length - 1]!] : words.slice(0, 1);
  // First code point of each word, so an emoji or accented initial is not cut in half.
  return letters.map((w) => [...w][0] ?? '').join('').toUpperCase() || '?';
}

const escapeXml = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

export function avatarSvg(id: string, name: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="60" height="60" viewBox="0 0 60 60">` +
    `<rect width="60" height="60" rx="30" fill="${avatarColour(id)}"/>` +
    `<text x="30" y="38" font-family="Helvetica,Arial,sans-serif" font-size="22" font-weight="600" fill="#fff" text-anchor="middle">${escapeXml(initials(name))}</text>` +
    `</svg>`
  );
}
