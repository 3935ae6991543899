// Where the time goes in a CPU profile written by `node --cpu-prof` (bench:all --profile DIR writes one per
// service process): the share of busy samples per place (our source files by directory, each dependency,
// Node's internals, the garbage collector) and the functions with the most self time.
// and the total time of our own functions.
// Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [top] [--last SECONDS]
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  /** Microseconds: the first sample's time is startTime + timeDeltas[0], and so on. */
  readonly startTime: number;
  readonly endTime: number;
  readonly timeDeltas: readonly number[];
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

interface Options {
  readonly file: string;
  readonly top: number;
  /** Only the samples of the profile's last seconds (the measured run is the last load of a service process). */
  readonly lastSeconds: number | undefined;
}

function options(): Options {
  const { values, positionals } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: { last: { type: 'string' } } });
  const [file, topText, ...rest] = positionals;
  const top = Number(topText ?? 25);
  if (!file || rest.length > 0 || !Number.isInteger(top)) throw new Error('usage: profile-summary FILE.cpuprofile [top] [--last SECONDS] (one file: a process writes one profile)');
  return { file, top, lastSeconds: values.last === undefined ? undefined : Number(values.last) };
}

async function main(): Promise<void> {
  const { file, top, lastSeconds } = options();
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Sample times from the deltas; with --last, the samples before the window are left out.
  const times: number[] = [];
  let at = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((at += delta));
  const from = lastSeconds === undefined ? -Infinity : profile.endTime - lastSeconds * 1e6;
  const samples = profile.samples.filter((_, i) => times[i]! >= from);
  const self = new Map<number, number>();
  for (const id of samples) self.set(id, (self.get(id) ?? 0) + 1);
  const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((sum, [, n]) => sum + n, 0);
  const busy = samples.length - idle;
  const places = new Map<string, number>();
  const functions = new Map<string, number>();
  const key = (frame: ProfileNode['callFrame']): string => `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|src|dist)\//, '$1/')}:${frame.lineNumber + 1}`;
  for (const [id, n] of self) {
    const { callFrame } = byId.get(id)!;
    if (callFrame.functionName === '(idle)') continue;
    const where = place(callFrame.url, callFrame.functionName);
    places.set(where, (places.get(where) ?? 0) + n);
    functions.set(key(callFrame), (functions.get(key(callFrame)) ?? 0) + n);
  }
  // Total time (self and callees) of our own functions, each counted once per sample however deep it recurs.
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const totals = new Map<string, number>();
  for (const [id, n] of self) {
    const seen = new Set<string>();
    for (let node = byId.get(id); node; node = byId.get(parents.get(node.id) ?? -1)) {
      if (!/\/(src|dist)\//.test(node.callFrame.url) || /node_modules/.test(node.callFrame.url)) continue;
      const k = key(node.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      totals.set(k, (totals.get(k) ?? 0) + n);
    }
  }
  const pct = (n: number): string => `${((n / busy) * 100).toFixed(1).padStart(5)} %`;
  const window = lastSeconds === undefined ? '' : ` in the last ${lastSeconds} s`;
  console.log(`${samples.length} samples${window}, ${((busy / samples.length) * 100).toFixed(0)} % busy`);
  console.log('\nself time by place (share of busy samples):');
  for (const [where, n] of [...places].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(n)}  ${where}`);
  console.log('\nfunctions with the most self time:');
  for (const [k, n] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(n)}  ${k}`);
  console.log('\nour functions with the most total time (self and what they call):');
  for (const [k, n] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(n)}  ${k}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
