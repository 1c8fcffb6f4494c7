/**
 * Statistics of a benchmark run (pure): every figure is measured once per
 * round, and reported as the median of its rounds with their min–max spread.
 * A target is called met or missed only when the whole spread is on one side
 * of it; a spread that straddles the target says "unclear", never a verdict
 * the noise could have produced.
 */

/** Median and the min–max spread of one figure over the rounds. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many rounds gave a value. */
  n: number;
}

/** The spread of the finite values in `values`; null when there are none. */
export function spread(values: ReadonlyArray<number | null | undefined>): Spread | null {
  const xs = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  const median = xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
  return { median, min: xs[0] as number, max: xs[xs.length - 1] as number, n: xs.length };
}

/** `a / b` per round (pairs with a missing side are skipped). */
export function ratios(
  a: ReadonlyArray<number | null | undefined>,
  b: ReadonlyArray<number | null | undefined>,
): Array<number | null> {
  return a.map((x, i) => {
    const y = b[i];
    return typeof x === "number" && typeof y === "number" && y !== 0 ? x / y : null;
  });
}

/** `a - b` per round. */
export function differences(
  a: ReadonlyArray<number | null | undefined>,
  b: ReadonlyArray<number | null | undefined>,
): Array<number | null> {
  return a.map((x, i) => {
    const y = b[i];
    return typeof x === "number" && typeof y === "number" ? x - y : null;
  });
}

/**
 * Least-squares slope of y over x, per round: `points[round]` is that round's
 * (x, y) pairs. A round with fewer than two points gives null.
 */
export function slopes(points: ReadonlyArray<ReadonlyArray<[number, number | null]>>): Array<number | null> {
  return points.map((pairs) => {
    const ok = pairs.filter((p): p is [number, number] => typeof p[1] === "number");
    if (ok.length < 2) return null;
    const mx = ok.reduce((s, [x]) => s + x, 0) / ok.length;
    const my = ok.reduce((s, [, y]) => s + y, 0) / ok.length;
    let num = 0;
    let den = 0;
    for (const [x, y] of ok) {
      num += (x - mx) * (y - my);
      den += (x - mx) ** 2;
    }
    return den === 0 ? null : num / den;
  });
}

/** A target's verdict: met, missed, or unclear when the spread straddles it. */
export type Verdict = "met" | "missed" | "unclear" | "n/a";

/** Verdict for "the figure is at most `limit`" (`atMost`) or "at least `limit`". */
export function verdict(s: Spread | null, limit: number, direction: "atMost" | "atLeast"): Verdict {
  if (!s) return "n/a";
  if (direction === "atMost") return s.max <= limit ? "met" : s.min > limit ? "missed" : "unclear";
  return s.min >= limit ? "met" : s.max < limit ? "missed" : "unclear";
}

/** `median (min–max)` with `digits` decimals. */
export function fmt(s: Spread | null, digits = 3, scale = 1): string {
  if (!s) return "n/a";
  const f = (v: number) => (v * scale).toFixed(digits);
  return s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}
