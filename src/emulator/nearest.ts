// The nearest known name to a mistyped one, for the emulator's CLI flags, fixtures keys and console API
// fields. A local stand-in for the shared options helper (src/shared/nearest-name.ts), to be joined with it.

/** Edit distance (insert, delete, substitute), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[y.length] as number;
}

/** The known name closest to `name`, when it is close enough to be what was meant. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** ` (did you mean "x"?)`, or '' when nothing known is close. */
export function didYouMean(name: string, known: readonly string[], quote = (s: string) => `"${s}"`): string {
  const n = nearestName(name, known);
  return n === undefined ? '' : ` (did you mean ${quote(n)}?)`;
}
