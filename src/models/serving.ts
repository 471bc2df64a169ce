/**
 * The models the service serves, by reference, and their swap without a restart.
 *
 * A binding is a ref the service answers for: each served model's bare name (its default:
 * `@production`, or what MODEL_REFS says), each alias that is set (`knn@staging`), and any
 * ref preloaded by a caller (an experiment's arm). `reload()` re-reads the registry, loads and
 * checks every version the bindings now name (off the request path: file reads, checksum,
 * dataset match), and then replaces the lookup table in ONE assignment: a request sees the
 * old table or the new one, never a mix. A version that fails to load is refused (one warn
 * line) and its binding keeps the model it had, so the old version keeps serving.
 *
 * kNN and popular compose at load time: every kNN instance falls back to the popular of the
 * table it is built into (the bare `popular` binding of that reload), so a kNN version names
 * its own neighbour graph and the fallback is whatever popular is served beside it.
 */
import { MODEL_ALIASES, MODEL_PROMOTED_ACTION, MODEL_REFUSED_ACTION } from '../contracts';
import type { Interactions } from '../data/interactions';
import type { ArtifactMetadata } from './artifacts';
import { loadArtifactVersion } from './artifacts';
import type { ModelSpec } from './catalog';
import type { ModelRegistryStore } from './model-registry';
import type { PopularRecommender } from './popular';
import { formatModelRef, parseModelRef } from './refs';
import type { ModelState } from './training';
import { instantiate } from './training';
import type { ModelLookup, Recommender } from './types';

export interface ServingLog {
  info(message: string, meta?: object): void;
  warn(message: string, meta?: object): void;
}

export interface ServedDataset {
  fingerprint: string;
  interactions: Interactions;
}

/** One binding that changed version (or was refused) in a reload. */
export interface BindingChange {
  ref: string;
  from: string | null;
  to: string;
}

export interface ReloadReport {
  changed: BindingChange[];
  refused: (BindingChange & { reason: string })[];
  /** Every binding and the version it serves after the reload. */
  serving: Record<string, string>;
}

interface Loaded {
  state: ModelState;
  metadata: ArtifactMetadata;
}

type Table = Map<string, Recommender>;

export interface ServedModelsOptions {
  store: ModelRegistryStore;
  dataset: ServedDataset;
  /** The model names served; `popular` is loaded for kNN's fallback even when not among them. */
  models: readonly string[];
  /** Per model name, the ref its bare name serves (default `<name>@production`). */
  defaults?: ReadonlyMap<string, string>;
  log: ServingLog;
}

export class ServedModels implements ModelLookup {
  private table: Table = new Map();
  private bindings = new Map<string, string>();
  private readonly cache = new Map<string, Loaded>();
  private readonly pinned = new Set<string>();
  private readonly defaults: Map<string, string>;
  private readonly modelNames: string[];
  /** modelNames, plus popular when only needed as kNN's fallback. */
  private readonly loadedNames: string[];
  private readonly listeners: ((served: ServedModels) => void)[] = [];
  private reloading: Promise<ReloadReport> | undefined;
  private lastPopular: PopularRecommender | undefined;
  private loadedOnce = false;
  private readonly unsaved = new Map<string, string>();

  constructor(private readonly options: ServedModelsOptions) {
    this.modelNames = [...options.models];
    this.loadedNames = this.modelNames.includes('popular') ? this.modelNames : ['popular', ...this.modelNames];
    this.defaults = new Map(options.defaults ?? []);
  }

  get(ref: string): Recommender | undefined {
    return this.table.get(ref);
  }

  names(): string[] {
    return this.modelNames;
  }

  /** Every binding and the version it serves now (`knn` → …, `knn@staging` → …). */
  serving(): Record<string, string> {
    return Object.fromEntries(this.bindings);
  }

  /** The version each served model's bare name serves now. */
  servedVersions(): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of this.modelNames) {
      const version = this.bindings.get(name);
      if (version !== undefined) out.set(name, version);
    }
    return out;
  }

  /** Called after every swap (metrics' model info, profile labels). */
  onSwap(listener: (served: ServedModels) => void): void {
    this.listeners.push(listener);
  }

  /** A state already in memory (just trained or loaded at start-up), so the first reload does not read it again. */
  seed(metadata: ArtifactMetadata, state: ModelState): void {
    this.cache.set(`${metadata.model}@${metadata.version}`, { state, metadata });
  }

  /**
   * A model trained at start-up that could not be saved (ARTIFACTS_DIR not writable): served
   * under its bare name as `unsaved-<fingerprint>` for the life of the process, outside the registry.
   */
  seedUnsaved(spec: ModelSpec, state: ModelState): string {
    const version = `unsaved-${this.options.dataset.fingerprint.slice(0, 8)}`;
    const metadata = { model: spec.name, kind: spec.kind, params: spec.params, version } as ArtifactMetadata;
    this.cache.set(`${spec.name}@${version}`, { state, metadata });
    this.unsaved.set(spec.name, version);
    return version;
  }

  /** Serve `name` (bare) from `ref` instead of its production (start-up fallback, MODEL_REFS). */
  setDefault(name: string, ref: string): void {
    this.defaults.set(name, ref);
  }

  /**
   * Adds refs to the bindings (e.g. an experiment's arms) and reloads; throws when one of them
   * cannot be served, naming it.
   */
  async preload(refs: readonly string[]): Promise<ReloadReport> {
    for (const ref of refs) {
      const parsed = parseModelRef(ref);
      if (!this.loadedNames.includes(parsed.model)) throw new Error(`${ref}: model ${parsed.model} is not served (served: ${this.modelNames.join(', ')})`);
      this.pinned.add(formatModelRef(parsed));
    }
    const report = await this.reload();
    const missing = refs.filter((ref) => this.get(ref) === undefined);
    if (missing.length > 0) {
      const why = report.refused.filter((r) => missing.includes(r.ref)).map((r) => `${r.ref}: ${r.reason}`);
      throw new Error(`cannot serve ${missing.join(', ')}${why.length > 0 ? ` (${why.join('; ')})` : ''}`);
    }
    return report;
  }

  /** Re-reads the registry and swaps in what it now names; concurrent calls share one reload. */
  reload(): Promise<ReloadReport> {
    if (this.reloading === undefined) {
      this.reloading = this.doReload().finally(() => {
        this.reloading = undefined;
      });
    }
    return this.reloading;
  }

  private async doReload(): Promise<ReloadReport> {
    const { store, log } = this.options;
    // 1. What each binding names now.
    const wanted = new Map<string, { model: string; version: string } | { error: string }>();
    const resolveInto = async (binding: string, ref: string, model: string): Promise<void> => {
      try {
        const v = await store.resolve(ref);
        wanted.set(binding, { model, version: v.version });
      } catch (error) {
        wanted.set(binding, { error: (error as Error).message });
      }
    };
    for (const name of this.loadedNames) {
      const unsaved = this.unsaved.get(name);
      if (unsaved !== undefined) wanted.set(name, { model: name, version: unsaved });
      else await resolveInto(name, this.defaults.get(name) ?? `${name}@production`, name);
      const aliases = (await store.state(name)).aliases;
      for (const alias of MODEL_ALIASES) if (aliases[alias] !== undefined) await resolveInto(`${name}@${alias}`, `${name}@${alias}`, name);
    }
    for (const ref of this.pinned) if (!wanted.has(ref)) await resolveInto(ref, ref, parseModelRef(ref).model);

    // 2. Load (or take from the cache) every version named, checking each.
    const failures = new Map<string, string>();
    for (const target of wanted.values()) {
      if ('error' in target) continue;
      const key = `${target.model}@${target.version}`;
      if (this.cache.has(key) || failures.has(key)) continue;
      try {
        const dir = (await store.resolve(key)).dir;
        const loaded = await loadArtifactVersion(dir, target.model, this.options.dataset.fingerprint, this.options.dataset.interactions.items.ids);
        this.cache.set(key, { state: loaded.state, metadata: loaded.metadata });
      } catch (error) {
        failures.set(key, (error as Error).message);
      }
    }

    // 3. Build the new table: popular's default first, every kNN built on it.
    const table: Table = new Map();
    const bindings = new Map<string, string>();
    const instances = new Map<string, Recommender>();
    const report: ReloadReport = { changed: [], refused: [], serving: {} };
    const order = [...wanted.keys()].sort((a, b) => rank(a) - rank(b));
    let popular: PopularRecommender | undefined;
    for (const binding of order) {
      const target = wanted.get(binding) as { model: string; version: string } | { error: string };
      const from = this.bindings.get(binding) ?? null;
      let model: Recommender | undefined;
      let reason: string | undefined;
      if ('error' in target) reason = target.error;
      else {
        const key = `${target.model}@${target.version}`;
        reason = failures.get(key);
        const loaded = this.cache.get(key);
        if (reason === undefined && loaded !== undefined) {
          model = instances.get(key);
          if (model === undefined) {
            try {
              model = instantiate(specOf(loaded.metadata), loaded.state, this.options.dataset.interactions, popular ?? this.popularFallback(), target.version);
              instances.set(key, model);
            } catch (error) {
              reason = (error as Error).message;
            }
          }
        }
      }
      if (model === undefined) {
        // Refused: the binding keeps what it served, if anything.
        const old = this.table.get(binding);
        const to = 'error' in target ? '(unresolved)' : target.version;
        if (from !== to || 'error' in target) {
          report.refused.push({ ref: binding, from, to, reason: reason ?? 'not loaded' });
          if (!this.followsProduction(binding)) {
            log.warn(`model ${binding}: refused ${to}${from === null ? '' : `, ${from} keeps serving`}: ${reason ?? 'not loaded'}`, {
              event: { action: MODEL_REFUSED_ACTION },
              recoscope: { model: { ref: binding, from, to, reason: reason ?? 'not loaded' } },
            });
          }
        }
        if (old !== undefined && from !== null) {
          table.set(binding, old);
          table.set(`${old.name}@${old.version}`, old);
          bindings.set(binding, from);
        }
        continue;
      }
      if (binding === 'popular') popular = model as PopularRecommender;
      if (binding === 'popular') this.lastPopular = popular;
      table.set(binding, model);
      table.set(`${model.name}@${model.version}`, model);
      bindings.set(binding, model.version);
      if (from !== model.version) report.changed.push({ ref: binding, from, to: model.version });
    }
    // popular only as kNN's fallback: built, but not served by name.
    const fallbackOnly = this.loadedNames.length !== this.modelNames.length;
    if (fallbackOnly) for (const key of [...table.keys()]) if (key.startsWith('popular@') || key === 'popular') table.delete(key);
    // 4. The swap: one assignment each, the table last is what requests read.
    this.bindings = bindings;
    this.table = table;
    // The first load is start-up: the models-ready line says what serves, once.
    const firstLoad = !this.loadedOnce;
    this.loadedOnce = true;
    for (const change of firstLoad ? [] : report.changed) {
      if (this.followsProduction(change.ref)) continue;
      log.info(`model ${change.ref}: ${change.from ?? '(none)'} → ${change.to}`, {
        event: { action: MODEL_PROMOTED_ACTION },
        recoscope: { model: { ref: change.ref, from: change.from, to: change.to } },
      });
    }
    // Versions no binding names any more are dropped, so memory holds only what serves.
    const inUse = new Set([...table.values()].map((m) => `${m.name}@${m.version}`));
    for (const key of this.cache.keys()) if (!inUse.has(key)) this.cache.delete(key);
    report.serving = this.serving();
    for (const listener of this.listeners) listener(this);
    return report;
  }

  /** A bare name that serves its production: its change is logged once, as `<name>@production`'s. */
  private followsProduction(binding: string): boolean {
    return !binding.includes('@') && !this.defaults.has(binding);
  }

  /** The popular served before this reload, for kNN when this reload's popular was refused. */
  private popularFallback(): PopularRecommender | undefined {
    return this.lastPopular;
  }
}

/** popular's bare binding first (kNN instances are built on it), then the other bare names, then aliases and pins. */
function rank(binding: string): number {
  if (binding === 'popular') return 0;
  return binding.includes('@') ? 2 : 1;
}

function specOf(metadata: ArtifactMetadata): ModelSpec {
  return { name: metadata.model, kind: metadata.kind, params: metadata.params } as ModelSpec;
}
