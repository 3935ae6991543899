// Static check that secrets are compared in constant time. No functional test can see timing, so a
// comparison of secrets rewritten as `===` would pass every other test; this check refuses it.
// Rules, over the TypeScript under src/:
//   1. no `===`/`!==` between two values when either is named as a secret, hash, signature or token
//      (a comparison with a literal, null or undefined is fine: the literal is public);
//   2. no `.equals(` or `Buffer.compare(` with such a value (both stop at the first differing byte);
//   3. `timingSafeEqual` only inside src/core/secrets.ts, behind constantTimeEqual (which also hides
//      a length difference, where timingSafeEqual throws);
//   4. the comparisons known to need constant time still call constantTimeEqual (REQUIRED_USES).
// Run: npx tsx scripts/check-constant-time.ts   (also run by npm test, test/security/constant-time-comparison.test.ts)
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Words that make a name a secret's (matched against the words of camelCase and snake_case names). */
const SECRET_WORDS = new Set([
  'secret', 'secrets', 'hash', 'hashes', 'signature', 'signatures', 'sig', 'token', 'tokens', 'digest', 'mac', 'hmac',
  'password', 'passcode', 'otp', 'answer', 'answers', 'fingerprint', 'akey', 'skey', 'key',
]);
/** A last word that says the name is about a secret, not the secret itself (its type, length, id...). */
const DESCRIPTIVE_WORDS = new Set([
  'type', 'types', 'id', 'ids', 'kind', 'length', 'count', 'at', 'name', 'names', 'status', 'url', 'path', 'prefix',
  'limit', 'ttl', 'seconds', 'ms', 'header', 'format', 'version', 'attribute', 'alg', 'algorithm', 'scope', 'scopes',
  'method', 'keyword', 'size', 'expires', 'purpose',
]);

/** Comparisons known to need constant time, by file: at least this many calls of constantTimeEqual. */
export const REQUIRED_USES: Readonly<Record<string, number>> = {
  'src/core/duo-web.ts': 1, // the HMAC signature of each Duo part
  'src/auth/clients.ts': 1, // client secrets, with the dummy hash for unknown clients
  'src/methods/token/service.ts': 1, // the keyed hash of a one-time token
  'src/methods/duo-web/service.ts': 1, // the Duo user against the alias's (or a placeholder), alike for unknown aliases
  'src/methods/totp/core.ts': 1, // an authenticator code against each step's of the window
  'src/core/portal-session.ts': 1, // the portal's form tokens (CSRF)
};

export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly problem: string;
}

const words = (name: string): string[] =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_$]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());

/** Whether an operand (an identifier chain such as `v.secretHash` or `digest(secret)`) names a secret. */
export function namesSecret(operand: string): boolean {
  // A call's result is named by the function, not its argument: `mask(secret)` is a mask.
  const chain = bare(operand).replace(/\(.*$/, '').replace(/[?!]/g, '');
  // SCREAMING_CASE names are the code's public constants (TOKEN_EXCHANGE_GRANT), never secrets.
  if (/^[A-Z0-9_]+$/.test(chain.split('.').pop() ?? '')) return false;
  const last = chain.split('.').filter(Boolean).pop() ?? '';
  const parts = words(last);
  if (parts.length === 0 || DESCRIPTIVE_WORDS.has(parts[parts.length - 1]!)) return false;
  return parts.some((w) => SECRET_WORDS.has(w));
}

/** An operand without the parentheses and negation the pattern took in around it. */
function bare(operand: string): string {
  let text = operand.trim().replace(/^[(!]+/, '');
  const count = (c: string) => text.split(c).length - 1;
  while (text.endsWith(')') && count(')') > count('(')) text = text.slice(0, -1);
  return text;
}

const LITERAL = /^(['"`].*['"`]|-?\d[\d_.]*|null|undefined|true|false)$/;
const OPERAND = String.raw`[\w$.?!\[\]'"\x60()-]+`;
const COMPARISON = new RegExp(String.raw`(typeof\s+)?(${OPERAND})\s*(===|!==)\s*(typeof\s+)?(${OPERAND})`, 'g');
const EQUALS_CALL = /([\w$.?!\[\]()]+)\.equals\(([^)]*)\)|Buffer\.compare\(([^,]+),([^)]*)\)/g;

/** The problems in one file's text. */
export function checkSource(file: string, text: string): Finding[] {
  const findings: Finding[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.replace(/\/\/.*$/, '');
    if (/^\s*\*/.test(line)) return; // a doc comment
    for (const match of line.matchAll(COMPARISON)) {
      const [, typeofLeft, left, operator, typeofRight, right] = match as unknown as [string, string | undefined, string, string, string | undefined, string];
      if (typeofLeft || typeofRight || LITERAL.test(bare(left)) || LITERAL.test(bare(right))) continue;
      if (namesSecret(left) || namesSecret(right)) {
        findings.push({ file, line: index + 1, problem: `\`${bare(left)} ${operator} ${bare(right)}\` compares a secret with ${operator}; use constantTimeEqual` });
      }
    }
    for (const match of line.matchAll(EQUALS_CALL)) {
      const operands = [match[1], match[2], match[3], match[4]].filter((o): o is string => o !== undefined).map((o) => o.trim());
      if (operands.some(namesSecret)) findings.push({ file, line: index + 1, problem: `\`${match[0]}\` compares a secret byte by byte; use constantTimeEqual` });
    }
    if (/\btimingSafeEqual\b/.test(line) && file !== 'src/core/secrets.ts') {
      findings.push({ file, line: index + 1, problem: 'timingSafeEqual outside src/core/secrets.ts; use constantTimeEqual' });
    }
  });
  const required = REQUIRED_USES[file];
  if (required !== undefined) {
    const uses = text.match(/\bconstantTimeEqual\(/g)?.length ?? 0;
    if (uses < required) findings.push({ file, line: 0, problem: `calls constantTimeEqual ${uses} times, ${required} expected: a secret comparison lost its constant time` });
  }
  return findings;
}

function* typescriptFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* typescriptFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

/** Every problem under `root`/src, with paths relative to root. */
export function checkTree(root: string): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const path of typescriptFiles(join(root, 'src'))) {
    const file = relative(root, path).split('\\').join('/');
    seen.add(file);
    findings.push(...checkSource(file, readFileSync(path, 'utf8')));
  }
  for (const file of Object.keys(REQUIRED_USES)) {
    if (!seen.has(file)) findings.push({ file, line: 0, problem: 'missing: the check expects its constant-time comparison here (update REQUIRED_USES if it moved)' });
  }
  return findings;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const findings = checkTree(fileURLToPath(new URL('..', import.meta.url)));
  for (const f of findings) process.stderr.write(`${f.file}:${f.line}: ${f.problem}\n`);
  if (findings.length > 0) process.exit(1);
  process.stdout.write('constant-time check: no secret compared with ===, !== or equals\n');
}
