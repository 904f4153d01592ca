// The nearest known name for an unknown one ("did you mean"), for option keys and billing labels.
// Hand-written rather than a library: edit distance alone misses what users actually type (case,
// `api_key`, `qty`, `ttl` for `ttlMs`), and the distance itself (optimal string alignment, so a
// swapped pair counts once) is a dozen lines over names of a few dozen characters.

/** Common abbreviations, lower case, each to the word it stands for. */
const ABBREVIATIONS: Readonly<Record<string, string>> = {
  qty: 'quantity',
  amt: 'amount',
  sub: 'subscription',
  subs: 'subscription',
  ent: 'entitlement',
  prod: 'product',
  tier: 'tiers',
  key: 'apikey',
  secret: 'webhooksecret',
  url: 'baseurl',
};

/** Lower case, separators dropped: `api_key`, `API-Key` and `apiKey` are one name. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[\s_\-.]+/)
    .filter(Boolean);
}

/** The forms a name may be compared in: as written, and with abbreviations spelled out; either without a trailing `ms`. */
function forms(name: string): string[] {
  const w = words(name);
  const plain = w.join('');
  const expanded = w.map((x) => ABBREVIATIONS[x] ?? x).join('');
  const all = new Set([plain, expanded, plain.replace(/ms$/, ''), expanded.replace(/ms$/, '')]);
  all.delete('');
  return [...all];
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const up = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = v;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The known name `unknown` most likely meant, or undefined when none is near: the same name up to
 * case, separators and abbreviations first, then a unique known name that starts or ends with it
 * (`retries` → `maxRetries`), then the closest by edit distance within a third of its length.
 */
export function nearestName(unknown: string, known: Iterable<string>): string | undefined {
  const names = [...new Set(known)].filter((k) => k !== unknown);
  if (names.length === 0 || unknown === '') return undefined;
  const mine = forms(unknown);
  const plain = words(unknown).join('');
  const theirs = names.map((k) => ({ k, forms: forms(k), plain: words(k).join('') }));
  const same = theirs.find((t) => t.forms.some((f) => mine.includes(f)));
  if (same) return same.k;
  if (plain.length >= 3) {
    const affix = theirs.filter(
      (t) => t.plain.startsWith(plain) || t.plain.endsWith(plain) || (t.plain.length >= 3 && (plain.startsWith(t.plain) || plain.endsWith(t.plain))),
    );
    if (affix.length === 1) return affix[0]?.k;
  }
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(plain.length / 3)) + 1;
  for (const t of theirs) {
    for (const f of t.forms) {
      for (const m of mine) {
        const dist = distance(m, f);
        if (dist < bestDistance) {
          best = t.k;
          bestDistance = dist;
        }
      }
    }
  }
  return best;
}

/** ` (did you mean "x"?)`, or '' when nothing is near. */
export function didYouMean(unknown: string, known: Iterable<string>, quote = (s: string) => `"${s}"`): string {
  const near = nearestName(unknown, known);
  return near === undefined ? '' : ` (did you mean ${quote(near)}?)`;
}
