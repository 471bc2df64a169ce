/**
 * Trained models on disk: `artifacts/<model>/<version>/{model.bin, metadata.json}`.
 *
 * model.bin is the model's typed arrays, raw and little-endian, behind a small JSON table of
 * contents, so loading is a read and a copy (no parsing of numbers). metadata.json records
 * what the model was trained from; an artifact is reused only when its params and dataset
 * fingerprint match the running configuration, and its checksum matches its bytes.
 * Versions are written to a temporary directory and renamed into place, so a reader never
 * sees half an artifact.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGE } from '../paths';
import type { ModelSpec } from './catalog';
import { canonicalParams } from './catalog';
import type { ModelState } from './training';
import type { ArtifactEvaluation } from './offline-quality';

export const ARTIFACT_FORMAT_VERSION = 1;
const MAGIC = 'RSCPMDL1';
const BIN_FILE = 'model.bin';
const METADATA_FILE = 'metadata.json';

export interface DatasetInfo {
  fingerprint: string;
  description: string;
  users: number;
  items: number;
  interactions: number;
}

export interface ArtifactMetadata {
  formatVersion: number;
  model: string;
  kind: ModelSpec['kind'];
  params: ModelSpec['params'];
  dataset: DatasetInfo;
  trainMs: number;
  sizeBytes: number;
  sha256: string;
  createdAt: string;
  recoscopeVersion: string;
  version: string;
  /** Offline quality of these params on this dataset (`npm run train -- --evaluation`), when known. */
  evaluation?: ArtifactEvaluation;
}

export interface SavedArtifact {
  dir: string;
  metadata: ArtifactMetadata;
}

export interface LoadedArtifact {
  state: ModelState;
  metadata: ArtifactMetadata;
  dir: string;
}

type ArrayKind = 'int32' | 'float32';
type StoredArray = Int32Array | Float32Array;

interface TocEntry {
  name: string;
  dtype: ArrayKind;
  length: number;
  offset: number;
}

/** The arrays that make up a state, plus the item ids it was trained on (checked on load). */
function stateArrays(state: ModelState, itemIds: Int32Array): Record<string, StoredArray> {
  if (state.kind === 'popular') {
    return { itemIds, ranked: state.popular.ranked, windowItems: Int32Array.of(state.popular.windowItems) };
  }
  return { itemIds, ptr: state.graph.ptr, idx: state.graph.idx, sim: state.graph.sim };
}

function arraysToState(kind: ModelSpec['kind'], arrays: Map<string, StoredArray>): ModelState {
  const int = (name: string): Int32Array => {
    const a = arrays.get(name);
    if (!(a instanceof Int32Array)) throw new Error(`artifact lacks int32 array "${name}"`);
    return a;
  };
  if (kind === 'popular') return { kind, popular: { ranked: int('ranked'), windowItems: int('windowItems')[0] ?? 0 } };
  const sim = arrays.get('sim');
  if (!(sim instanceof Float32Array)) throw new Error('artifact lacks float32 array "sim"');
  const ptr = int('ptr');
  return { kind, graph: { nItems: ptr.length - 1, ptr, idx: int('idx'), sim } };
}

export function encodeArrays(arrays: Record<string, StoredArray>): Buffer {
  const toc: TocEntry[] = [];
  let offset = 0;
  for (const [name, array] of Object.entries(arrays)) {
    toc.push({ name, dtype: array instanceof Int32Array ? 'int32' : 'float32', length: array.length, offset });
    offset += align8(array.byteLength);
  }
  const header = Buffer.from(JSON.stringify({ endianness: 'little', arrays: toc }), 'utf8');
  const dataStart = align8(MAGIC.length + 4 + header.length);
  const out = Buffer.alloc(dataStart + offset);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  for (const entry of toc) {
    const array = arrays[entry.name] as StoredArray;
    Buffer.from(array.buffer, array.byteOffset, array.byteLength).copy(out, dataStart + entry.offset);
  }
  return out;
}

export function decodeArrays(bytes: Buffer): Map<string, StoredArray> {
  if (bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error('not a recoscope model file');
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const header = JSON.parse(bytes.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + headerLength)) as {
    endianness: string;
    arrays: TocEntry[];
  };
  if (header.endianness !== 'little' || !isLittleEndianHost()) throw new Error('model file and host byte order differ');
  const dataStart = align8(MAGIC.length + 4 + headerLength);
  const arrays = new Map<string, StoredArray>();
  for (const entry of header.arrays) {
    const array = entry.dtype === 'int32' ? new Int32Array(entry.length) : new Float32Array(entry.length);
    const from = dataStart + entry.offset;
    if (from + array.byteLength > bytes.length) throw new Error(`model file truncated in array "${entry.name}"`);
    // Copy rather than view: the file buffer's offset need not be aligned for the type.
    new Uint8Array(array.buffer).set(bytes.subarray(from, from + array.byteLength));
    arrays.set(entry.name, array);
  }
  return arrays;
}

export async function saveArtifact(
  root: string,
  spec: ModelSpec,
  state: ModelState,
  itemIds: Int32Array,
  dataset: DatasetInfo,
  trainMs: number,
  now: Date = new Date(),
  evaluation?: ArtifactEvaluation,
): Promise<SavedArtifact> {
  const bytes = encodeArrays(stateArrays(state, itemIds));
  const createdAt = now.toISOString();
  const baseVersion = `${createdAt.replace(/[-:.]/g, '')}-${dataset.fingerprint.slice(0, 8)}`;
  const modelDir = join(root, spec.name);
  await mkdir(modelDir, { recursive: true });
  let version = baseVersion;
  for (let n = 2; existsSync(join(modelDir, version)); n++) version = `${baseVersion}-${n}`;
  const metadata: ArtifactMetadata = {
    formatVersion: ARTIFACT_FORMAT_VERSION,
    model: spec.name,
    kind: spec.kind,
    params: spec.params,
    dataset,
    trainMs,
    sizeBytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    createdAt,
    recoscopeVersion: recoscopeVersion(),
    version,
    ...(evaluation === undefined ? {} : { evaluation }),
  };
  const finalDir = join(modelDir, version);
  const tmpDir = join(modelDir, `.${version}.tmp-${process.pid}`);
  await mkdir(tmpDir, { recursive: true });
  try {
    await writeFile(join(tmpDir, BIN_FILE), bytes);
    await writeFile(join(tmpDir, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
    await rename(tmpDir, finalDir);
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true });
    throw err;
  }
  return { dir: finalDir, metadata };
}

export interface FindResult {
  loaded: LoadedArtifact | undefined;
  /** Artifacts that matched but could not be used (corrupt, truncated), with why. */
  rejected: { dir: string; reason: string }[];
}

/**
 * The newest artifact of `spec` trained on the dataset with `fingerprint` and the same params,
 * or undefined. Non-matching versions are ignored silently; matching but unreadable ones are
 * reported and skipped in favour of the next newest.
 */
export async function loadMatchingArtifact(
  root: string,
  spec: ModelSpec,
  fingerprint: string,
  itemIds: Int32Array,
): Promise<FindResult> {
  const modelDir = join(root, spec.name);
  const rejected: { dir: string; reason: string }[] = [];
  let entries: string[];
  try {
    entries = (await readdir(modelDir)).filter((e) => !e.startsWith('.'));
  } catch {
    return { loaded: undefined, rejected };
  }
  const wanted = canonicalParams(spec);
  const candidates: { dir: string; metadata: ArtifactMetadata }[] = [];
  for (const entry of entries) {
    const dir = join(modelDir, entry);
    let metadata: ArtifactMetadata;
    try {
      metadata = JSON.parse(await readFile(join(dir, METADATA_FILE), 'utf8')) as ArtifactMetadata;
    } catch {
      continue;
    }
    if (
      metadata.formatVersion === ARTIFACT_FORMAT_VERSION &&
      metadata.model === spec.name &&
      metadata.kind === spec.kind &&
      metadata.dataset?.fingerprint === fingerprint &&
      canonicalParams({ ...spec, params: metadata.params } as ModelSpec) === wanted
    ) {
      candidates.push({ dir, metadata });
    }
  }
  candidates.sort((a, b) => b.metadata.createdAt.localeCompare(a.metadata.createdAt) || b.metadata.version.localeCompare(a.metadata.version));
  for (const { dir, metadata } of candidates) {
    try {
      return { loaded: { state: await verifiedState(dir, metadata, itemIds), metadata, dir }, rejected };
    } catch (err) {
      rejected.push({ dir, reason: (err as Error).message });
    }
  }
  return { loaded: undefined, rejected };
}

/** The state in `dir`, after checking its bytes against the checksum and its items against the dataset's. */
async function verifiedState(dir: string, metadata: ArtifactMetadata, itemIds: Int32Array): Promise<ModelState> {
  const bytes = await readFile(join(dir, BIN_FILE));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== metadata.sha256) throw new Error('checksum mismatch');
  const arrays = decodeArrays(bytes);
  const storedIds = arrays.get('itemIds');
  if (!(storedIds instanceof Int32Array) || !sameInts(storedIds, itemIds)) throw new Error('item ids differ from the dataset');
  return arraysToState(metadata.kind, arrays);
}

/** A version's metadata.json, or undefined when the directory holds no readable one. */
export async function readArtifactMetadata(dir: string): Promise<ArtifactMetadata | undefined> {
  try {
    const metadata = JSON.parse(await readFile(join(dir, METADATA_FILE), 'utf8')) as ArtifactMetadata;
    return typeof metadata?.version === 'string' && typeof metadata.model === 'string' ? metadata : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One given version (the registry's load, whatever its params): refused with an Error saying
 * why when it is of another model, format or dataset, its bytes do not match its checksum, or
 * its items are not the dataset's.
 */
export async function loadArtifactVersion(dir: string, model: string, fingerprint: string, itemIds: Int32Array): Promise<LoadedArtifact> {
  const metadata = await readArtifactMetadata(dir);
  if (metadata === undefined) throw new Error(`no readable ${METADATA_FILE} in ${dir}`);
  if (metadata.formatVersion !== ARTIFACT_FORMAT_VERSION) throw new Error(`artifact format ${metadata.formatVersion}, this service reads ${ARTIFACT_FORMAT_VERSION}`);
  if (metadata.model !== model) throw new Error(`artifact is of model ${metadata.model}, not ${model}`);
  if (metadata.dataset?.fingerprint !== fingerprint) {
    throw new Error(`trained on dataset ${String(metadata.dataset?.fingerprint).slice(0, 12)}, the service serves ${fingerprint.slice(0, 12)}`);
  }
  try {
    return { state: await verifiedState(dir, metadata, itemIds), metadata, dir };
  } catch (err) {
    throw new Error(`${(err as Error).message} in ${dir}`);
  }
}

function sameInts(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function isLittleEndianHost(): boolean {
  return new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
}

/** package.json's version, recorded in every artifact's metadata. */
export function recoscopeVersion(): string {
  return PACKAGE.version;
}
