/**
 * Bounded top-K selection over (index, score) pairs, allocation-free after construction, used
 * both for each item's neighbour list at training time and for each request's top k.
 *
 * Order is score descending, then index ascending, so results never depend on the order
 * candidates were visited in (implicit's TopK keeps whichever tied entry came first; ties
 * are rare with real-valued scores, and a fixed rule keeps artifacts and tests stable).
 */
export class TopK {
  private readonly heapIdx: Int32Array;
  private readonly heapScore: Float64Array;
  private size = 0;
  private limit: number;

  constructor(capacity: number) {
    this.heapIdx = new Int32Array(Math.max(1, capacity));
    this.heapScore = new Float64Array(Math.max(1, capacity));
    this.limit = capacity;
  }

  /** Starts a new selection of at most `k` (≤ capacity) entries. */
  reset(k: number = this.heapIdx.length): void {
    if (k > this.heapIdx.length) throw new RangeError(`k ${k} exceeds TopK capacity ${this.heapIdx.length}`);
    this.limit = k;
    this.size = 0;
  }

  get length(): number {
    return this.size;
  }

  push(index: number, score: number): void {
    const idx = this.heapIdx;
    const sc = this.heapScore;
    if (this.size < this.limit) {
      let i = this.size++;
      // Sift up: the root holds the worst kept entry.
      while (i > 0) {
        const parent = (i - 1) >> 1;
        const ps = sc[parent] as number;
        const pi = idx[parent] as number;
        if (!worse(score, index, ps, pi)) break;
        sc[i] = ps;
        idx[i] = pi;
        i = parent;
      }
      sc[i] = score;
      idx[i] = index;
      return;
    }
    if (this.limit === 0 || !worse(sc[0] as number, idx[0] as number, score, index)) return;
    this.siftDown(index, score, this.size);
  }

  /** Replaces the root and restores the heap over the first `n` entries. */
  private siftDown(index: number, score: number, n: number): void {
    const idx = this.heapIdx;
    const sc = this.heapScore;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && worse(sc[right] as number, idx[right] as number, sc[child] as number, idx[child] as number)) {
        child = right;
      }
      if (!worse(sc[child] as number, idx[child] as number, score, index)) break;
      sc[i] = sc[child] as number;
      idx[i] = idx[child] as number;
      i = child;
    }
    sc[i] = score;
    idx[i] = index;
  }

  /**
   * Empties the heap into the outputs, best first; returns how many were written. Pops the
   * worst entry into the last free slot each time (heap sort), so no extra buffer is needed.
   */
  drainSorted(outIdx: Int32Array | number[], outScore?: Float32Array | Float64Array, offset = 0): number {
    const n = this.size;
    const idx = this.heapIdx;
    const sc = this.heapScore;
    for (let remaining = n; remaining > 0; remaining--) {
      const worstIdx = idx[0] as number;
      const worstScore = sc[0] as number;
      outIdx[offset + remaining - 1] = worstIdx;
      if (outScore !== undefined) outScore[offset + remaining - 1] = worstScore;
      const last = remaining - 1;
      if (last > 0) this.siftDown(idx[last] as number, sc[last] as number, last);
    }
    this.size = 0;
    return n;
  }
}

/** True when (sa, ia) ranks below (sb, ib). */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}
