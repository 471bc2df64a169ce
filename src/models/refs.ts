/**
 * Model references: how experiment configs, the CLI and tests name a model version.
 *
 *   `<model>`            the model's default (`<model>@production` unless MODEL_REFS says otherwise)
 *   `<model>@<alias>`    alias ∈ production, staging, canary: follows promotions
 *   `<model>@<version>`  one registry version, e.g. `knn@20261201T231820123Z-3f9c2a1b`
 *
 * A version id is the artifact's directory name: its creation time (UTC, compact ISO 8601,
 * milliseconds) and the first 8 hex digits of the dataset fingerprint, with `-2`, `-3`… when
 * two versions share a millisecond. Aliases are not valid version ids (no digit first), so a
 * ref is never ambiguous.
 */
import { MODEL_ALIASES, type ModelAlias } from '../contracts';

/** The version of a model built outside the registry (tests, benchmarks, the evaluation). */
export const UNVERSIONED = 'unversioned';

export type ModelRef = { model: string; alias: ModelAlias; version?: undefined } | { model: string; version: string; alias?: undefined };

const VERSION_ID = /^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{8}(-[0-9]+)?$/;
const MODEL_NAME = /^[a-z][a-z0-9_]*$/;

export function isModelAlias(value: string): value is ModelAlias {
  return (MODEL_ALIASES as readonly string[]).includes(value);
}

export function isVersionId(value: string): boolean {
  return VERSION_ID.test(value);
}

export class ModelRefError extends Error {
  override name = 'ModelRefError';
}

/** Parses a ref; a bare name means `@production`. Throws ModelRefError saying what is wrong. */
export function parseModelRef(ref: string): ModelRef {
  const at = ref.indexOf('@');
  const model = at < 0 ? ref : ref.slice(0, at);
  if (!MODEL_NAME.test(model)) throw new ModelRefError(`"${ref.slice(0, 80)}" is not a model ref: expected <model>, <model>@<alias> or <model>@<version>`);
  if (at < 0) return { model, alias: 'production' };
  const selector = ref.slice(at + 1);
  if (isModelAlias(selector)) return { model, alias: selector };
  if (isVersionId(selector)) return { model, version: selector };
  throw new ModelRefError(
    `"${ref.slice(0, 80)}": "${selector.slice(0, 40)}" is neither an alias (${MODEL_ALIASES.join(', ')}) nor a version id (like 20261201T231820123Z-3f9c2a1b)`,
  );
}

export function formatModelRef(ref: ModelRef): string {
  return `${ref.model}@${ref.alias ?? ref.version}`;
}
