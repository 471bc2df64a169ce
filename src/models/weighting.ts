/**
 * The item-kNN weighting schemes, exactly as implicit (benfred/implicit,
 * implicit/nearest_neighbours.py) applies them before its all-pairs product.
 *
 * implicit weights `counts.T` (items × users: items are the "documents", users the "terms")
 * and transposes back, so in user × item terms, with x = the raw interaction weight,
 * N = number of items, deg(u) = number of items user u has:
 *
 *   idf(u)      = log(N) - log1p(deg(u))
 *   cosine:  W(u,i) = x / ‖x(·,i)‖₂                                  (each item column unit length)
 *   tfidf:   W(u,i) = t / ‖t(·,i)‖₂,  t = sqrt(x) · idf(u)
 *   bm25:    W(u,i) = x (K1 + 1) / (K1 · norm(i) + x) · idf(u),
 *            norm(i) = (1 - B) + B · Σ_u x(u,i) / mean over items of Σ_u x(u,i)
 *
 * The only deviation: an all-zero column (possible for TF-IDF when every user of an item has
 * idf 0) stays zero where implicit would divide by zero and produce NaN.
 */
import type { Interactions } from '../data/interactions';
import type { CsrMatrix } from './sparse';

export type Weighting = 'cosine' | 'tfidf' | 'bm25';

export interface Bm25Params {
  k1: number;
  b: number;
}

/** The weighted user × item matrix with the store's sparsity pattern (arrays are shared). */
export function weightedMatrix(data: Interactions, weighting: Weighting, bm25: Bm25Params): CsrMatrix {
  const nnz = data.nnz;
  const val = new Float64Array(nnz);
  const x = data.weights;
  switch (weighting) {
    case 'cosine':
      for (let p = 0; p < nnz; p++) val[p] = x[p] as number;
      normalizeColumns(data, val);
      break;
    case 'tfidf': {
      const idf = userIdf(data);
      forEachEntry(data, (u, _i, p) => {
        val[p] = Math.sqrt(x[p] as number) * (idf[u] as number);
      });
      normalizeColumns(data, val);
      break;
    }
    case 'bm25': {
      const idf = userIdf(data);
      const itemSums = new Float64Array(data.nItems);
      for (let p = 0; p < nnz; p++) {
        const i = data.itemIdx[p] as number;
        itemSums[i] = (itemSums[i] as number) + (x[p] as number);
      }
      let total = 0;
      for (let i = 0; i < data.nItems; i++) total += itemSums[i] as number;
      const averageLength = total / data.nItems;
      const { k1, b } = bm25;
      forEachEntry(data, (u, i, p) => {
        const lengthNorm = 1 - b + (b * (itemSums[i] as number)) / averageLength;
        const xv = x[p] as number;
        val[p] = ((xv * (k1 + 1)) / (k1 * lengthNorm + xv)) * (idf[u] as number);
      });
      break;
    }
  }
  return { nRows: data.nUsers, nCols: data.nItems, ptr: data.userPtr, idx: data.itemIdx, val };
}

/** implicit's idf over the users, counting entries (not weights): log(N) - log1p(deg). */
function userIdf(data: Interactions): Float64Array {
  const idf = new Float64Array(data.nUsers);
  const logN = Math.log(data.nItems);
  for (let u = 0; u < data.nUsers; u++) {
    idf[u] = logN - Math.log1p((data.userPtr[u + 1] as number) - (data.userPtr[u] as number));
  }
  return idf;
}

function normalizeColumns(data: Interactions, val: Float64Array): void {
  const sq = new Float64Array(data.nItems);
  for (let p = 0; p < val.length; p++) {
    const i = data.itemIdx[p] as number;
    const v = val[p] as number;
    sq[i] = (sq[i] as number) + v * v;
  }
  for (let p = 0; p < val.length; p++) {
    const norm = Math.sqrt(sq[data.itemIdx[p] as number] as number);
    val[p] = norm > 0 ? (val[p] as number) / norm : 0;
  }
}

function forEachEntry(data: Interactions, fn: (u: number, i: number, p: number) => void): void {
  for (let u = 0; u < data.nUsers; u++) {
    const end = data.userPtr[u + 1] as number;
    for (let p = data.userPtr[u] as number; p < end; p++) fn(u, data.itemIdx[p] as number, p);
  }
}
