// Statement texts built from a count (keys read, rows inserted, guesses counted). Drivers find a prepared
// statement by its text: a text built anew for every call must be hashed whole to find it again, so each
// is built once per count.

/** `build(n)`, built once for each `n`. */
export function textPerCount(build: (n: number) => string): (n: number) => string {
  const texts: string[] = [];
  return (n) => (texts[n] ??= build(n));
}

/** `n` one-column rows of text parameters, for a `VALUES` list. */
export const keysAsRows = (n: number): string => Array.from({ length: n }, () => '(CAST(? AS TEXT))').join(', ');
