/**
 * Streams a MovieLens or MTS Kion CSV into the interaction store with csv-parse.
 * The schema is chosen by the header; every rejected row is reported with file and line.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import { MAX_EXTERNAL_ID } from './id-index';
import type { Interactions } from './interactions';
import { InteractionsBuilder } from './interactions';
import type { SchemaName } from './schemas';
import { kionWeight, parseIsoDate, SCHEMA_COLUMNS, SCHEMA_LABELS } from './schemas';

export class DatasetFormatError extends Error {
  override name = 'DatasetFormatError';
}

export interface CsvLoadOptions {
  /** Skip malformed rows (counted and sampled) instead of failing on the first one. */
  skipMalformed?: boolean;
}

export interface CsvLoadResult {
  interactions: Interactions;
  schema: SchemaName;
  /** Data rows read (header excluded), including skipped ones. */
  rows: number;
  skipped: number;
  /** The first few skip reasons, `file:line: what`, for the start-up log. */
  skippedSamples: string[];
  duplicatesMerged: number;
}

const MAX_SKIP_SAMPLES = 5;
/** Rough bytes per row of either schema, to size the builder once instead of regrowing. */
const BYTES_PER_ROW_ESTIMATE = 28;

type RowParser = (fields: string[]) => string | undefined;

export async function loadInteractionsCsv(path: string, options: CsvLoadOptions = {}): Promise<CsvLoadResult> {
  const skipMalformed = options.skipMalformed === true;
  let size: number;
  try {
    size = (await fsp.stat(path)).size;
  } catch (err) {
    throw new DatasetFormatError(`${path}: cannot read dataset: ${(err as Error).message}`);
  }
  const builder = new InteractionsBuilder(Math.min(size / BYTES_PER_ROW_ESTIMATE, 50_000_000));

  let schema: SchemaName | undefined;
  let parseRow: RowParser | undefined;
  let expectedFields = 0;
  let rows = 0;
  let skipped = 0;
  const skippedSamples: string[] = [];
  let fatal: Error | undefined;

  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    // Field-count problems are reported by us, with the schema's column names.
    relax_column_count: true,
    skip_records_with_error: skipMalformed,
  });

  const reject = (line: number, what: string): void => {
    const message = `${path}:${line}: ${what}`;
    if (!skipMalformed) {
      fatal = new DatasetFormatError(message);
      parser.destroy(fatal);
      return;
    }
    skipped++;
    if (skippedSamples.length < MAX_SKIP_SAMPLES) skippedSamples.push(message);
  };

  // CSV-level errors (a stray quote) in skip mode: csv-parse drops the record and tells us.
  parser.on('skip', (err: CsvError | undefined) => {
    rows++;
    reject(err instanceof CsvError ? Number(err.lines) : parser.info.lines, err?.message ?? 'unparseable CSV record');
  });

  // Records are handled synchronously as csv-parse pushes them, so `parser.info.lines` is the
  // line the record ended on (csv-parse counts lines itself; empty lines included).
  parser.on('data', (fields: string[]) => {
    if (fatal !== undefined) return;
    const line = parser.info.lines;
    if (parseRow === undefined) {
      const detected = detectSchema(fields, builder);
      if (typeof detected === 'string') {
        fatal = new DatasetFormatError(`${path}:${line}: ${detected}`);
        parser.destroy(fatal);
        return;
      }
      schema = detected.schema;
      parseRow = detected.parseRow;
      expectedFields = SCHEMA_COLUMNS[schema].length;
      return;
    }
    rows++;
    if (fields.length !== expectedFields) {
      reject(line, `expected ${expectedFields} fields (${SCHEMA_COLUMNS[schema as SchemaName].join(',')}), got ${fields.length}`);
      return;
    }
    const problem = parseRow(fields);
    if (problem !== undefined) reject(line, problem);
  });

  try {
    await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), parser);
  } catch (err) {
    if (fatal !== undefined) throw fatal;
    if (err instanceof CsvError) throw new DatasetFormatError(`${path}:${String(err.lines)}: ${err.message}`);
    throw new DatasetFormatError(`${path}: ${(err as Error).message}`);
  }
  if (fatal !== undefined) throw fatal;
  if (schema === undefined) throw new DatasetFormatError(`${path}: the file is empty; ${expectedHeaders()}`);
  if (builder.rows === 0) throw new DatasetFormatError(`${path}: no valid interactions (${rows} rows, ${skipped} skipped)`);

  const { interactions, duplicatesMerged } = builder.build();
  return { interactions, schema, rows, skipped, skippedSamples, duplicatesMerged };
}

function expectedHeaders(): string {
  const names = Object.keys(SCHEMA_COLUMNS) as SchemaName[];
  return `expected a ${names.map((s) => `${SCHEMA_LABELS[s]} header "${SCHEMA_COLUMNS[s].join(',')}"`).join(' or a ')}`;
}

/** Accepts either schema's exact column set, in any order. */
function detectSchema(header: string[], builder: InteractionsBuilder): { schema: SchemaName; parseRow: RowParser } | string {
  const names = header.map((h) => h.trim());
  for (const schema of Object.keys(SCHEMA_COLUMNS) as SchemaName[]) {
    const columns = SCHEMA_COLUMNS[schema];
    if (names.length !== columns.length) continue;
    const positions = columns.map((c) => names.indexOf(c));
    if (positions.some((p) => p < 0)) continue;
    return { schema, parseRow: schema === 'movielens' ? movielensRow(positions, builder) : kionRow(positions, builder) };
  }
  return `unrecognised CSV header "${names.join(',')}"; ${expectedHeaders()}`;
}

function movielensRow(pos: number[], builder: InteractionsBuilder): RowParser {
  const [pUser, pItem, pRating, pTime] = pos as [number, number, number, number];
  return (f) => {
    const user = parseId(f[pUser] as string);
    if (user < 0) return idProblem('userId', f[pUser] as string);
    const item = parseId(f[pItem] as string);
    if (item < 0) return idProblem('movieId', f[pItem] as string);
    const ratingText = f[pRating] as string;
    const rating = ratingText.length === 0 ? NaN : Number(ratingText);
    if (!(rating > 0) || !Number.isFinite(rating)) return `rating ${JSON.stringify(ratingText)} is not a positive number`;
    const time = parseUnsigned(f[pTime] as string, 0xffffffff);
    if (time < 0) return `timestamp ${JSON.stringify(f[pTime])} is not a Unix time in seconds`;
    builder.append(user, item, rating, time);
    return undefined;
  };
}

function kionRow(pos: number[], builder: InteractionsBuilder): RowParser {
  const [pUser, pItem, pDate, pDur, pPct] = pos as [number, number, number, number, number];
  // Kion has one date per day of the window; caching the parse saves a Date per row.
  const dates = new Map<string, number | undefined>();
  return (f) => {
    const user = parseId(f[pUser] as string);
    if (user < 0) return idProblem('user_id', f[pUser] as string);
    const item = parseId(f[pItem] as string);
    if (item < 0) return idProblem('item_id', f[pItem] as string);
    const dateText = f[pDate] as string;
    let time = dates.get(dateText);
    if (time === undefined && !dates.has(dateText)) {
      time = parseIsoDate(dateText);
      if (dates.size < 100_000) dates.set(dateText, time);
    }
    if (time === undefined) return `last_watch_dt ${JSON.stringify(dateText)} is not a YYYY-MM-DD date`;
    const durText = f[pDur] as string;
    const dur = durText.length === 0 ? NaN : Number(durText);
    if (!(dur >= 0)) return `total_dur ${JSON.stringify(durText)} is not a non-negative number`;
    const pctText = f[pPct] as string;
    let pct: number | undefined;
    if (pctText.length > 0) {
      pct = Number(pctText);
      if (!(pct >= 0 && pct <= 100)) return `watched_pct ${JSON.stringify(pctText)} is not a number in [0, 100] (or empty)`;
    }
    builder.append(user, item, kionWeight(pct), time);
    return undefined;
  };
}

function idProblem(column: string, text: string): string {
  return `${column} ${JSON.stringify(text)} is not an integer in [0, ${MAX_EXTERNAL_ID}]`;
}

/** Digits only (no sign, exponent or decimal point); -1 if invalid or above 2^31 - 1. */
function parseId(text: string): number {
  return parseUnsigned(text, MAX_EXTERNAL_ID);
}

function parseUnsigned(text: string, max: number): number {
  const n = text.length;
  if (n === 0 || n > 10) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v <= max ? v : -1;
}
