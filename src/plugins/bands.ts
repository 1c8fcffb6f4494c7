/**
 * Ordering plugins into priority bands (pure logic).
 *
 * Lower priority runs first. Plugins with the same priority form a band. In a
 * band, plugins that only inspect run concurrently on the payload as it
 * entered the band; plugins that may modify run one after another in name
 * order (code-point order, so it does not depend on a locale), each seeing
 * the previous one's output. The next band sees the band's final payload.
 */

export interface Rankable {
  name: string;
  priority: number;
}

export interface Band<T extends Rankable> {
  priority: number;
  /** Only inspect: run concurrently. Sorted by name. */
  inspectors: T[];
  /** May modify: run sequentially, in this order (by name). */
  modifiers: T[];
}

/** Code-point order of names (deterministic everywhere, unlike localeCompare). */
export function byName(a: Rankable, b: Rankable): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Sorts plugins into bands; `modifies` says which ones may change the payload. */
export function toBands<T extends Rankable>(plugins: readonly T[], modifies: (p: T) => boolean): Band<T>[] {
  const sorted = [...plugins].sort((a, b) => a.priority - b.priority || byName(a, b));
  const bands: Band<T>[] = [];
  for (const p of sorted) {
    let band = bands[bands.length - 1];
    if (!band || band.priority !== p.priority) {
      band = { priority: p.priority, inspectors: [], modifiers: [] };
      bands.push(band);
    }
    (modifies(p) ? band.modifiers : band.inspectors).push(p);
  }
  return bands;
}

/** Keeps only the plugins `keep` accepts, dropping bands left empty. */
export function filterBands<T extends Rankable>(bands: readonly Band<T>[], keep: (p: T) => boolean): Band<T>[] {
  const out: Band<T>[] = [];
  for (const band of bands) {
    const inspectors = band.inspectors.filter(keep);
    const modifiers = band.modifiers.filter(keep);
    if (inspectors.length || modifiers.length) out.push({ priority: band.priority, inspectors, modifiers });
  }
  return out;
}
