/** Queries on a user's CSR row, whose item indices are sorted ascending. */
import type { Interactions } from '../data/interactions';

/**
 * Binary search: allocation-free, O(log history), and typical histories are short (median 2–4
 * in Kion-like data), so it beats building a Set per request; measured in the kNN benchmark.
 */
export function rowHasItem(items: Int32Array, start: number, end: number, item: number): boolean {
  let lo = start;
  let hi = end - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = items[mid] as number;
    if (v < item) lo = mid + 1;
    else if (v > item) hi = mid - 1;
    else return true;
  }
  return false;
}

/**
 * A basket of external item ids → their dense indices in `data`, ascending (a row, for
 * rowHasItem): unknown ids dropped, repeats merged.
 */
export function knownItems(data: Interactions, itemIds: readonly number[]): Int32Array {
  const seen = new Set<number>();
  for (const id of itemIds) {
    const i = data.items.indexOf(id);
    if (i >= 0) seen.add(i);
  }
  return Int32Array.from(seen).sort();
}
