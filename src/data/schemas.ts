/**
 * The two CSV schemas the service reads and how each row becomes (user, item, weight, time).
 * Shared by the CSV loader and the synthetic generator so a generated dataset loaded from its
 * CSV is bit-for-bit the one generated in memory.
 */
export type SchemaName = 'movielens' | 'kion';

export const SCHEMA_COLUMNS: Record<SchemaName, readonly string[]> = {
  movielens: ['userId', 'movieId', 'rating', 'timestamp'],
  kion: ['user_id', 'item_id', 'last_watch_dt', 'total_dur', 'watched_pct'],
};

export const SCHEMA_LABELS: Record<SchemaName, string> = {
  movielens: 'MovieLens',
  kion: 'MTS Kion',
};

/**
 * Kion has no explicit rating, so the weight is derived from how much was watched:
 * `1 + watched_pct / 100`, in [1, 2]. Every row is a positive signal (the user started the
 * item), completion raises confidence up to double but never erases it, and an empty
 * watched_pct (present in the real data) counts as "started, completion unknown" = 1.
 * Keeping weights ≥ 1 also keeps BM25/TF-IDF away from near-zero entries.
 */
export function kionWeight(watchedPct: number | undefined): number {
  if (watchedPct === undefined) return 1;
  return 1 + Math.min(100, Math.max(0, watchedPct)) / 100;
}

const SECONDS_PER_DAY = 86_400;

/** `YYYY-MM-DD` (UTC midnight) → Unix seconds, or undefined if not a real calendar date. */
export function parseIsoDate(text: string): number | undefined {
  if (text.length !== 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const ms = Date.UTC(year, month - 1, day);
  // Date.UTC rolls 2021-02-30 over into March; a real date survives the round trip.
  const back = new Date(ms);
  if (back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return undefined;
  return ms / 1000;
}

export function formatIsoDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

export function daysToSeconds(days: number): number {
  return days * SECONDS_PER_DAY;
}

function digits(text: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}
