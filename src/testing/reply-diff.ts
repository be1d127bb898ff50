/**
 * A small line diff of two values, as jest prints `expect` failures: `- ` lines are expected, `+ `
 * lines received, the rest is shared context. Own code rather than jest-diff: the test kit ships in
 * the package and runs under any test runner, and these values are small (one message), so a plain
 * LCS over a few dozen lines is enough and adds no runtime dependency.
 */

const INDENT = '  ';

/** Renders a value one field a line, JSON-like; RegExps as `/…/`; every entry ends with a comma, so a changed last entry is one line of diff. */
export function renderLines(value: unknown, depth = 0): string[] {
  const pad = INDENT.repeat(depth + 1);
  const end = INDENT.repeat(depth);
  if (value instanceof RegExp) return [String(value)];
  if (value === undefined) return ['undefined'];
  if (Array.isArray(value)) {
    if (value.length === 0) return ['[]'];
    return ['[', ...value.flatMap((v) => entry(pad, '', v, depth)), `${end}]`];
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return ['{}'];
    return ['{', ...keys.flatMap((k) => entry(pad, `${JSON.stringify(k)}: `, (value as Record<string, unknown>)[k], depth)), `${end}}`];
  }
  return [JSON.stringify(value)];
}

function entry(pad: string, label: string, value: unknown, depth: number): string[] {
  const [first = '', ...rest] = renderLines(value, depth + 1);
  const lines = [`${pad}${label}${first}`, ...rest];
  lines[lines.length - 1] += ',';
  return lines;
}

/** The line diff of `expected` against `received`: `- ` expected only, `+ ` received only, `  ` both. */
export function diffLines(expected: readonly string[], received: readonly string[]): string[] {
  const n = expected.length;
  const m = received.length;
  // lcs[i][j]: the longest common subsequence of expected[i..] and received[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = expected[i] === received[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === received[j]) {
      out.push(`  ${expected[i++]}`);
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push(`+ ${received[j++]}`);
    } else {
      out.push(`- ${expected[i++]}`);
    }
  }
  // Expected lines first within each run of changes, as jest shows them.
  return reorderRuns(out);
}

function reorderRuns(lines: string[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  const flush = () => {
    out.push(...run.filter((l) => l.startsWith('- ')), ...run.filter((l) => l.startsWith('+ ')));
    run = [];
  };
  for (const line of lines) {
    if (line.startsWith('  ')) {
      flush();
      out.push(line);
    } else run.push(line);
  }
  flush();
  return out;
}

/** `- Expected` / `+ Received` and the diff of the two values, as one block of text. */
export function formatDiff(expected: unknown, received: unknown): string {
  return ['- Expected', '+ Received', '', ...diffLines(renderLines(expected), renderLines(received))].join('\n');
}
