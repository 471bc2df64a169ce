/** The one entry point from configuration to an interaction store. */
import { basename } from 'node:path';
import type { DatasetConfig } from '../config';
import { loadInteractionsCsv } from './csv';
import { fingerprintInteractions } from './fingerprint';
import type { Interactions } from './interactions';
import { generateInteractions } from './synthetic';
import { SCHEMA_LABELS } from './schemas';

export interface LoadedDataset {
  interactions: Interactions;
  fingerprint: string;
  /** One line for logs and artifact metadata, e.g. `MovieLens CSV ratings.csv`. */
  description: string;
  /** Where the data came from: `synthetic` or the CSV path. */
  source: string;
  loadMs: number;
  /** Malformed rows skipped (CSV with skipMalformed only). */
  skipped: number;
  skippedSamples: string[];
  duplicatesMerged: number;
}

export const SYNTHETIC_SOURCE = 'synthetic';

export async function loadDataset(config: DatasetConfig): Promise<LoadedDataset> {
  const started = performance.now();
  if (config.source === SYNTHETIC_SOURCE) {
    const p = config.synthetic;
    const interactions = generateInteractions(p);
    return {
      interactions,
      fingerprint: fingerprintInteractions(interactions),
      description: `synthetic Kion-like (users=${p.users}, items=${p.items}, interactions=${p.interactions}, seed=${p.seed})`,
      source: SYNTHETIC_SOURCE,
      loadMs: Math.round(performance.now() - started),
      skipped: 0,
      skippedSamples: [],
      duplicatesMerged: 0,
    };
  }
  const loaded = await loadInteractionsCsv(config.source, { skipMalformed: config.skipMalformed });
  return {
    interactions: loaded.interactions,
    fingerprint: fingerprintInteractions(loaded.interactions),
    description: `${SCHEMA_LABELS[loaded.schema]} CSV ${basename(config.source)} (${loaded.rows} rows)`,
    source: config.source,
    loadMs: Math.round(performance.now() - started),
    skipped: loaded.skipped,
    skippedSamples: loaded.skippedSamples,
    duplicatesMerged: loaded.duplicatesMerged,
  };
}
