/**
 * The model registry over the artifact store: every artifact version
 * (`artifacts/<model>/<version>/`, src/models/artifacts.ts) is a registry version; per model,
 * `artifacts/<model>/registry.json` holds its aliases (production, staging, canary), each
 * alias's history (the targets it had before, newest last, for rollback) and a log of every
 * change. An archived version moves to `artifacts/<model>/archive/<version>/`: it is kept and
 * listed, never reused at start-up nor served.
 *
 * registry.json is written to a temporary file and renamed over the old one, so a reader (the
 * service reloading, another CLI) sees the old state or the new one, never half of one.
 *
 * This is the read/write API of the CLI (`npm run models`), the service's loader
 * (src/models/serving.ts) and tools that report on versions (e.g. the offline metrics of an
 * experiment's arms).
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_ALIASES, type ModelAlias } from '../contracts';
import type { ArtifactMetadata } from './artifacts';
import { readArtifactMetadata } from './artifacts';
import { formatModelRef, isVersionId, parseModelRef } from './refs';

export const REGISTRY_FILE = 'registry.json';
export const ARCHIVE_DIR = 'archive';
const REGISTRY_FORMAT_VERSION = 1;

export interface RegistryEvent {
  at: string;
  action: 'register' | 'promote' | 'rollback' | 'archive';
  alias?: ModelAlias;
  from?: string | null;
  to?: string | null;
  version?: string;
}

export interface RegistryState {
  formatVersion: number;
  model: string;
  aliases: Partial<Record<ModelAlias, string>>;
  /** Per alias, its earlier targets, oldest first: rollback pops the last. */
  history: Partial<Record<ModelAlias, string[]>>;
  events: RegistryEvent[];
}

export interface RegistryVersion {
  model: string;
  version: string;
  dir: string;
  metadata: ArtifactMetadata;
  /** The aliases that point at this version now. */
  aliases: ModelAlias[];
  archived: boolean;
}

/** A registry operation that cannot be done, with why (CLI: exit 1 and this message). */
export class RegistryError extends Error {
  override name = 'RegistryError';
}

export interface AliasChange {
  model: string;
  alias: ModelAlias;
  from: string | null;
  to: string;
}

const emptyState = (model: string): RegistryState => ({ formatVersion: REGISTRY_FORMAT_VERSION, model, aliases: {}, history: {}, events: [] });

export interface ModelRegistryStore {
  readonly root: string;
  /** The models with at least one version or a registry file, sorted. */
  models(): Promise<string[]>;
  /** A model's versions, newest first (archived ones too when asked). */
  versions(model: string, options?: { archived?: boolean }): Promise<RegistryVersion[]>;
  /** Every model's versions. */
  list(options?: { archived?: boolean }): Promise<RegistryVersion[]>;
  state(model: string): Promise<RegistryState>;
  /** The version a ref names (a bare name: its production). Throws RegistryError when none. */
  resolve(ref: string): Promise<RegistryVersion>;
  /** Points `alias` at `version`; the old target goes on the alias's history. */
  promote(model: string, version: string, alias?: ModelAlias): Promise<AliasChange>;
  /** Points `alias` back at its previous target (popped from its history). */
  rollback(model: string, alias?: ModelAlias): Promise<AliasChange>;
  /** Moves a version no alias points at to the archive. */
  archive(model: string, version: string): Promise<RegistryVersion>;
  /** Records a new version (start-up, train); makes it production when production is unset. Returns whether it did. */
  register(model: string, version: string): Promise<boolean>;
}

export function openModelRegistry(root: string, now: () => Date = () => new Date()): ModelRegistryStore {
  const modelDir = (model: string): string => join(root, model);
  const registryPath = (model: string): string => join(modelDir(model), REGISTRY_FILE);

  async function state(model: string): Promise<RegistryState> {
    let text: string;
    try {
      text = await readFile(registryPath(model), 'utf8');
    } catch (error) {
      // No registry file, or no directory to hold one: nothing registered yet.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return emptyState(model);
      throw error;
    }
    let parsed: RegistryState;
    try {
      parsed = JSON.parse(text) as RegistryState;
    } catch (error) {
      throw new RegistryError(`${registryPath(model)} is not JSON: ${(error as Error).message}`);
    }
    if (parsed.formatVersion !== REGISTRY_FORMAT_VERSION || parsed.model !== model || typeof parsed.aliases !== 'object') {
      throw new RegistryError(`${registryPath(model)} is not a registry file of model ${model} (format ${REGISTRY_FORMAT_VERSION})`);
    }
    return { ...parsed, history: parsed.history ?? {}, events: parsed.events ?? [] };
  }

  async function save(next: RegistryState): Promise<void> {
    await mkdir(modelDir(next.model), { recursive: true });
    const tmp = join(modelDir(next.model), `.${REGISTRY_FILE}.tmp-${process.pid}-${Date.now()}`);
    await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`);
    await rename(tmp, registryPath(next.model));
  }

  async function versionsIn(model: string, dir: string, archived: boolean): Promise<RegistryVersion[]> {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return [];
    }
    const out: RegistryVersion[] = [];
    for (const entry of entries) {
      if (!isVersionId(entry)) continue;
      const metadata = await readArtifactMetadata(join(dir, entry));
      if (metadata === undefined || metadata.model !== model || metadata.version !== entry) continue;
      out.push({ model, version: entry, dir: join(dir, entry), metadata, aliases: [], archived });
    }
    return out;
  }

  async function versions(model: string, options: { archived?: boolean } = {}): Promise<RegistryVersion[]> {
    const current = await state(model);
    const live = await versionsIn(model, modelDir(model), false);
    const all = options.archived === true ? [...live, ...(await versionsIn(model, join(modelDir(model), ARCHIVE_DIR), true))] : live;
    for (const v of all) v.aliases = MODEL_ALIASES.filter((alias) => current.aliases[alias] === v.version);
    // Version ids start with their creation time, so newest first is descending id order.
    return all.sort((a, b) => b.version.localeCompare(a.version));
  }

  async function models(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(root);
    } catch {
      return [];
    }
    return entries.filter((e) => /^[a-z][a-z0-9_]*$/.test(e)).sort();
  }

  async function liveVersion(model: string, version: string): Promise<RegistryVersion> {
    const found = (await versions(model, { archived: true })).find((v) => v.version === version);
    if (found === undefined) throw new RegistryError(`${model} has no version ${version} (npm run models -- list ${model})`);
    if (found.archived) throw new RegistryError(`${model}@${version} is archived`);
    return found;
  }

  const event = (e: Omit<RegistryEvent, 'at'>): RegistryEvent => ({ at: now().toISOString(), ...e });

  return {
    root,
    models,
    versions,
    state,
    async list(options = {}) {
      const out: RegistryVersion[] = [];
      for (const model of await models()) out.push(...(await versions(model, options)));
      return out;
    },
    async resolve(ref) {
      let parsed;
      try {
        parsed = parseModelRef(ref);
      } catch (error) {
        throw new RegistryError((error as Error).message);
      }
      const version = parsed.alias === undefined ? parsed.version : (await state(parsed.model)).aliases[parsed.alias];
      if (version === undefined) throw new RegistryError(`${formatModelRef(parsed)} is not set (npm run models -- promote ${parsed.model} <version> --alias ${parsed.alias ?? 'production'})`);
      return liveVersion(parsed.model, version);
    },
    async promote(model, version, alias = 'production') {
      await liveVersion(model, version);
      const current = await state(model);
      const from = current.aliases[alias] ?? null;
      if (from === version) throw new RegistryError(`${model}@${alias} is already ${version}`);
      const history = current.history[alias] ?? [];
      const next: RegistryState = {
        ...current,
        aliases: { ...current.aliases, [alias]: version },
        history: { ...current.history, [alias]: from === null ? history : [...history, from] },
        events: [...current.events, event({ action: 'promote', alias, from, to: version })],
      };
      await save(next);
      return { model, alias, from, to: version };
    },
    async rollback(model, alias = 'production') {
      const current = await state(model);
      const history = current.history[alias] ?? [];
      const previous = history.at(-1);
      const from = current.aliases[alias] ?? null;
      if (previous === undefined) throw new RegistryError(`${model}@${alias} has no earlier target to roll back to`);
      await liveVersion(model, previous);
      const next: RegistryState = {
        ...current,
        aliases: { ...current.aliases, [alias]: previous },
        history: { ...current.history, [alias]: history.slice(0, -1) },
        events: [...current.events, event({ action: 'rollback', alias, from, to: previous })],
      };
      await save(next);
      return { model, alias, from, to: previous };
    },
    async archive(model, version) {
      const found = await liveVersion(model, version);
      const current = await state(model);
      const holders = MODEL_ALIASES.filter((alias) => current.aliases[alias] === version);
      if (holders.length > 0) throw new RegistryError(`${model}@${version} is ${holders.join(', ')}: promote another version first`);
      const archiveDir = join(modelDir(model), ARCHIVE_DIR);
      await mkdir(archiveDir, { recursive: true });
      const dir = join(archiveDir, version);
      // One rename: the version is either live or archived, never half moved.
      await rename(found.dir, dir);
      await save({ ...current, events: [...current.events, event({ action: 'archive', version })] });
      return { ...found, dir, archived: true, aliases: [] };
    },
    async register(model, version) {
      await liveVersion(model, version);
      const current = await state(model);
      if (current.aliases.production !== undefined) return false;
      await save({
        ...current,
        aliases: { ...current.aliases, production: version },
        events: [...current.events, event({ action: 'register', alias: 'production', from: null, to: version })],
      });
      return true;
    },
  };
}
