/** A compressed sparse row matrix over typed arrays: row r is [ptr[r], ptr[r+1]). */
export interface CsrMatrix {
  nRows: number;
  nCols: number;
  ptr: Int32Array;
  idx: Int32Array;
  val: Float64Array;
}

/** The transpose, by counting sort; column indices come out ascending within each row. */
export function transpose(m: CsrMatrix): CsrMatrix {
  const nnz = m.idx.length;
  const ptr = new Int32Array(m.nCols + 1);
  for (let p = 0; p < nnz; p++) {
    const c = (m.idx[p] as number) + 1;
    ptr[c] = (ptr[c] as number) + 1;
  }
  for (let c = 0; c < m.nCols; c++) ptr[c + 1] = (ptr[c + 1] as number) + (ptr[c] as number);
  const next = ptr.slice(0, m.nCols);
  const idx = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  for (let r = 0; r < m.nRows; r++) {
    const end = m.ptr[r + 1] as number;
    for (let p = m.ptr[r] as number; p < end; p++) {
      const c = m.idx[p] as number;
      const at = next[c] as number;
      idx[at] = r;
      val[at] = m.val[p] as number;
      next[c] = at + 1;
    }
  }
  return { nRows: m.nCols, nCols: m.nRows, ptr, idx, val };
}
