// Where the time goes in a CPU profile written by `node --cpu-prof` (bench:all --profile DIR writes one per
// service process): the share of busy samples per place (our source files by directory, each dependency,
// Node's internals, the garbage collector) and the functions with the most self time.
// Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [top]
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

/** The place a frame belongs to: a directory of src/, a package, Node itself, or a special node. */
function place(url: string, name: string): string {
  if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') return name;
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1]!;
  const ours = /\/(?:src|dist)\/([^/]+)\//.exec(url);
  if (ours) return `src/${ours[1]}`;
  if (url.startsWith('node:') || url === '') return 'node internals';
  return url;
}

async function main(): Promise<void> {
  const [file, topText] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [top]');
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const id of profile.samples) self.set(id, (self.get(id) ?? 0) + 1);
  const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((sum, [, n]) => sum + n, 0);
  const busy = profile.samples.length - idle;
  const places = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, n] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const where = place(url, functionName);
    places.set(where, (places.get(where) ?? 0) + n);
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|src|dist)\//, '$1/')}:${lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + n);
  }
  const pct = (n: number): string => `${((n / busy) * 100).toFixed(1).padStart(5)} %`;
  console.log(`${profile.samples.length} samples, ${((busy / profile.samples.length) * 100).toFixed(0)} % busy`);
  console.log('\nself time by place (share of busy samples):');
  for (const [where, n] of [...places].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(n)}  ${where}`);
  console.log('\nfunctions with the most self time:');
  for (const [key, n] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, Number(topText ?? 25))) console.log(`  ${pct(n)}  ${key}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
