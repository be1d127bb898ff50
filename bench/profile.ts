/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`, or `BENCH_PROFILE=dir npm run bench`):
 * self time by function and by package, and total (inclusive) time of the framework's own
 * functions.
 *
 *   node dist/bench/profile.js <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/<pkg>`, `node:internal`, `src/<file>` or `(program)`-like names. */
function packageOf(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] === 'internal' ? 'internal' : url.slice(5)}`;
  const src = url.search(/\/(src|bots|bench)\//);
  if (src !== -1) return url.slice(src + 1).replace(/\.js$/, '');
  return url;
}

function label(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const pkg = packageOf(frame.url, name);
  return `${name}  ${pkg}:${frame.lineNumber + 1}`;
}

function main(): void {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node dist/bench/profile.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfUs = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }

  const selfByFn = new Map<string, number>();
  const selfByPkg = new Map<string, number>();
  const inclusiveOwn = new Map<string, number>();
  const inclusivePkg = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const key = label(node.callFrame);
    selfByFn.set(key, (selfByFn.get(key) ?? 0) + us);
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    selfByPkg.set(pkg, (selfByPkg.get(pkg) ?? 0) + us);
    // Inclusive time of the project's own functions and of packages: each on the stack once.
    const seen = new Set<string>();
    const seenPkg = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const p = packageOf(f.url, f.functionName);
      if (f.url.includes('node_modules/') && !seenPkg.has(p)) {
        seenPkg.add(p);
        inclusivePkg.set(p, (inclusivePkg.get(p) ?? 0) + us);
      }
      if (!/\/(src|bots)\//.test(f.url)) continue;
      const k = label(f);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusiveOwn.set(k, (inclusiveOwn.get(k) ?? 0) + us);
    }
  }
  const idle = selfByFn.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const print = (title: string, map: Map<string, number>, n: number) => {
    console.log(`\n${title}`);
    for (const [k, us] of [...map].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, n)) {
      console.log(`  ${pct(us)}  ${k}`);
    }
  };
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages are of busy time)`);
  print('self time by package', selfByPkg, top);
  print('self time by function', selfByFn, top);
  print('inclusive time of packages (anywhere on the stack)', inclusivePkg, top);
  print("inclusive time of the project's functions", inclusiveOwn, top);
}

main();
