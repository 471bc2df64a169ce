/**
 * The interaction store: user × item events held as a CSR matrix by user in typed arrays,
 * so memory is a fixed ~12 bytes per interaction plus the id maps, with no object per row.
 *
 * Rows are sorted by dense item index, which lets models test "has the user seen item j"
 * with a binary search in the row and lets the fingerprint hash the arrays as they are.
 */
import { IdIndex, isValidExternalId, MAX_EXTERNAL_ID } from './id-index';

export class Interactions {
  readonly users: IdIndex;
  readonly items: IdIndex;
  /** Row pointers, length nUsers + 1: user u's interactions are [userPtr[u], userPtr[u+1]). */
  readonly userPtr: Int32Array;
  /** Dense item index per interaction, ascending within each user's row. */
  readonly itemIdx: Int32Array;
  /** Interaction strength (rating, or Kion weight); always > 0. */
  readonly weights: Float32Array;
  /** Unix seconds. Uint32 is enough until 2106 and half the size of Float64. */
  readonly timestamps: Uint32Array;

  constructor(parts: {
    users: IdIndex;
    items: IdIndex;
    userPtr: Int32Array;
    itemIdx: Int32Array;
    weights: Float32Array;
    timestamps: Uint32Array;
  }) {
    this.users = parts.users;
    this.items = parts.items;
    this.userPtr = parts.userPtr;
    this.itemIdx = parts.itemIdx;
    this.weights = parts.weights;
    this.timestamps = parts.timestamps;
    if (this.userPtr.length !== this.users.size + 1) throw new Error('userPtr length must be users + 1');
    const nnz = this.itemIdx.length;
    if (this.weights.length !== nnz || this.timestamps.length !== nnz || this.userPtr[this.users.size] !== nnz) {
      throw new Error('interaction arrays disagree in length');
    }
  }

  get nUsers(): number {
    return this.users.size;
  }

  get nItems(): number {
    return this.items.size;
  }

  get nnz(): number {
    return this.itemIdx.length;
  }

  maxTimestamp(): number {
    let max = 0;
    const ts = this.timestamps;
    for (let i = 0; i < ts.length; i++) if ((ts[i] as number) > max) max = ts[i] as number;
    return max;
  }
}

export interface BuildResult {
  interactions: Interactions;
  /** Rows folded into an earlier row with the same (user, item). */
  duplicatesMerged: number;
}

/**
 * Collects rows in arrival order into growable typed arrays, then sorts them into CSR once.
 *
 * Duplicate (user, item) rows are merged keeping the maximum weight and the latest timestamp:
 * a repeat is a restatement of the same preference (a re-rating, a second log line for one
 * view), not extra evidence, and max is idempotent, so feeding a file twice changes nothing.
 */
export class InteractionsBuilder {
  private capacity: number;
  private length = 0;
  private userCol: Int32Array;
  private itemCol: Int32Array;
  private weightCol: Float32Array;
  private timeCol: Uint32Array;

  constructor(expectedRows = 1 << 16) {
    this.capacity = Math.max(16, Math.floor(expectedRows));
    this.userCol = new Int32Array(this.capacity);
    this.itemCol = new Int32Array(this.capacity);
    this.weightCol = new Float32Array(this.capacity);
    this.timeCol = new Uint32Array(this.capacity);
  }

  get rows(): number {
    return this.length;
  }

  /**
   * Callers that parse text validate first so they can name the line; this check is the
   * backstop that keeps ids from silently wrapping in Int32Array.
   */
  append(userId: number, itemId: number, weight: number, timestamp: number): void {
    if (!isValidExternalId(userId)) throw new RangeError(`user id ${userId} is not an integer in [0, ${MAX_EXTERNAL_ID}]`);
    if (!isValidExternalId(itemId)) throw new RangeError(`item id ${itemId} is not an integer in [0, ${MAX_EXTERNAL_ID}]`);
    if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`weight ${weight} is not a positive finite number`);
    if (!Number.isInteger(timestamp) || timestamp < 0 || timestamp > 0xffffffff) {
      throw new RangeError(`timestamp ${timestamp} is not a Unix time in seconds`);
    }
    if (this.length === this.capacity) this.grow();
    const i = this.length++;
    this.userCol[i] = userId;
    this.itemCol[i] = itemId;
    this.weightCol[i] = weight;
    this.timeCol[i] = timestamp;
  }

  private grow(): void {
    this.capacity *= 2;
    this.userCol = resize(this.userCol, new Int32Array(this.capacity));
    this.itemCol = resize(this.itemCol, new Int32Array(this.capacity));
    this.weightCol = resize(this.weightCol, new Float32Array(this.capacity));
    this.timeCol = resize(this.timeCol, new Uint32Array(this.capacity));
  }

  /** Sorts into CSR by (user, item) with two counting sorts; O(rows + users + items). */
  build(): BuildResult {
    const n = this.length;
    const userCol = this.userCol.subarray(0, n);
    const itemCol = this.itemCol.subarray(0, n);
    const users = IdIndex.fromColumn(userCol);
    const items = IdIndex.fromColumn(itemCol);
    const nUsers = users.size;
    const nItems = items.size;

    // External → dense in place: the external columns are not needed afterwards.
    for (let i = 0; i < n; i++) {
      userCol[i] = users.indexOf(userCol[i] as number);
      itemCol[i] = items.indexOf(itemCol[i] as number);
    }

    // Stable counting sort by item, then by user: rows end up ordered by (user, item).
    const byItem = countingOrder(itemCol, nItems, undefined);
    const order = countingOrder(userCol, nUsers, byItem);

    const userPtr = new Int32Array(nUsers + 1);
    const itemIdx = new Int32Array(n);
    const weights = new Float32Array(n);
    const timestamps = new Uint32Array(n);
    let out = 0;
    let prevUser = -1;
    let prevItem = -1;
    for (let r = 0; r < n; r++) {
      const row = order[r] as number;
      const u = userCol[row] as number;
      const it = itemCol[row] as number;
      const w = this.weightCol[row] as number;
      const t = this.timeCol[row] as number;
      if (u === prevUser && it === prevItem) {
        const last = out - 1;
        if (w > (weights[last] as number)) weights[last] = w;
        if (t > (timestamps[last] as number)) timestamps[last] = t;
        continue;
      }
      if (u !== prevUser) {
        for (let x = prevUser + 1; x <= u; x++) userPtr[x] = out;
        prevUser = u;
      }
      prevItem = it;
      itemIdx[out] = it;
      weights[out] = w;
      timestamps[out] = t;
      out++;
    }
    for (let x = prevUser + 1; x <= nUsers; x++) userPtr[x] = out;

    // Free the staging columns before the caller holds on to the result.
    this.userCol = new Int32Array(0);
    this.itemCol = new Int32Array(0);
    this.weightCol = new Float32Array(0);
    this.timeCol = new Uint32Array(0);
    this.capacity = 0;
    this.length = 0;

    const interactions = new Interactions({
      users,
      items,
      userPtr,
      itemIdx: out === n ? itemIdx : itemIdx.slice(0, out),
      weights: out === n ? weights : weights.slice(0, out),
      timestamps: out === n ? timestamps : timestamps.slice(0, out),
    });
    return { interactions, duplicatesMerged: n - out };
  }
}

function resize<T extends Int32Array | Float32Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/**
 * Row order sorted stably by `keys` (0..nKeys-1). With `within`, sorts that order instead of
 * 0..n-1, which is what makes the second pass of a two-key radix sort stable.
 */
function countingOrder(keys: Int32Array, nKeys: number, within: Int32Array | undefined): Int32Array {
  const n = keys.length;
  const start = new Int32Array(nKeys + 1);
  for (let i = 0; i < n; i++) {
    const slot = (keys[i] as number) + 1;
    start[slot] = (start[slot] as number) + 1;
  }
  for (let k = 0; k < nKeys; k++) start[k + 1] = (start[k + 1] as number) + (start[k] as number);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = within === undefined ? i : (within[i] as number);
    const key = keys[row] as number;
    const at = start[key] as number;
    order[at] = row;
    start[key] = at + 1;
  }
  return order;
}
