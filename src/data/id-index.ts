/**
 * External integer id ↔ dense index, for users and for items.
 *
 * Dense indices are assigned in ascending order of external id, not in order of appearance,
 * so the same set of ids always gets the same indices whatever order the file lists them in:
 * fingerprints, artifacts and tie-breaks ("lower index first" = "lower external id first")
 * then depend only on the data.
 */

/** External ids are non-negative integers below 2^31 (they are stored in Int32Array). */
export const MAX_EXTERNAL_ID = 2 ** 31 - 1;

export function isValidExternalId(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= MAX_EXTERNAL_ID;
}

/**
 * A direct lookup table is used when ids are compact enough that it costs at most a few
 * bytes per id (real datasets number users 0..N); otherwise lookups binary-search the
 * sorted ids, which needs no extra memory at all.
 */
const DENSE_TABLE_SLACK = 4;
const DENSE_TABLE_MIN = 1 << 16;

export class IdIndex {
  /** Dense index → external id, strictly ascending. */
  readonly ids: Int32Array;
  private readonly table: Int32Array | undefined;

  private constructor(ids: Int32Array) {
    this.ids = ids;
    const maxId = ids.length === 0 ? -1 : (ids[ids.length - 1] as number);
    if (maxId < DENSE_TABLE_SLACK * ids.length + DENSE_TABLE_MIN) {
      const table = new Int32Array(maxId + 1).fill(-1);
      for (let i = 0; i < ids.length; i++) table[ids[i] as number] = i;
      this.table = table;
    }
  }

  /** From ids already sorted ascending and distinct (as stored in an artifact). */
  static fromSortedIds(ids: Int32Array): IdIndex {
    for (let i = 1; i < ids.length; i++) {
      if ((ids[i] as number) <= (ids[i - 1] as number)) throw new Error('ids must be strictly ascending');
    }
    return new IdIndex(ids);
  }

  /** From a column of ids with repeats, in any order; the column is left untouched. */
  static fromColumn(column: Int32Array): IdIndex {
    const sorted = column.slice().sort();
    let n = 0;
    for (let i = 0; i < sorted.length; i++) {
      const v = sorted[i] as number;
      if (n === 0 || v !== sorted[n - 1]) sorted[n++] = v;
    }
    return new IdIndex(sorted.slice(0, n));
  }

  get size(): number {
    return this.ids.length;
  }

  /** Dense index of an external id, or -1 if unknown (including non-integers). */
  indexOf(externalId: number): number {
    if (this.table !== undefined) {
      // Out-of-range reads on a typed array give undefined, never throw.
      const hit = this.table[externalId];
      return hit === undefined ? -1 : hit;
    }
    const ids = this.ids;
    let lo = 0;
    let hi = ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = ids[mid] as number;
      if (v < externalId) lo = mid + 1;
      else if (v > externalId) hi = mid - 1;
      else return mid;
    }
    return -1;
  }
}
