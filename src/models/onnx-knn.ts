/**
 * The item-kNN scoring as an ONNX graph, run by onnxruntime-node: the model "knn_onnx".
 *
 * What is trained here is the BM25 neighbour graph of `knn` (src/models/similarity.ts); the
 * export writes it as two dense [items × neighbours] tables (neighbour index, similarity) and
 * the scoring of implicit's ItemItemRecommender as graph operators:
 *
 *   scores = ScatterElements_add(zeros[items], Gather(idx, history), Gather(sim, history) · weights)
 *   scores[history] = -1e30                      (seen items are never recommended)
 *   values, indices = TopK(scores, k)
 *
 * which is score(j) = Σ_{i in history} x(u,i) · sim(i,j), the same sum `knn` computes over
 * its CSR graph, in float32 instead of float64 (so near-ties can swap ranks). Memory is
 * O(items × neighbours), not the O(items²) of a dense similarity matrix product, so
 * MovieLens-sized catalogues fit.
 *
 * The ONNX protobuf is written with protobufjs from the subset of onnx.proto this graph
 * uses (field numbers as in onnx/onnx.proto, IR version 8, opset 18): nothing on the request
 * path is generated code. onnxruntime-node is an optional dependency (about 290 MB installed,
 * binaries for every platform): without it the model is simply not offered.
 */
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import type { Interactions } from '../data/interactions';
import { knownItems } from './history';
import type { PopularRecommender } from './popular';
import type { NeighbourGraph } from './similarity';
import type { Recommendation } from './types';

export const ONNX_MODEL_NAME = 'knn_onnx';

/** The subset of onnx/onnx.proto (proto2, package onnx) that the exported graph needs. */
const ONNX_SUBSET_PROTO = `
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  repeated int64 ints = 8;
  optional AttributeType type = 20;
}
message TensorShapeProto {
  message Dimension { optional int64 dim_value = 1; optional string dim_param = 2; }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; }
  optional Tensor tensor_type = 1;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
`;

const FLOAT = 1;
const INT64 = 7;
const ATTR_INT = 2;
const ATTR_STRING = 3;
/** ScatterElements' `reduction` attribute (accumulating duplicate indices) needs opset ≥ 16. */
const OPSET = 18;
const IR_VERSION = 8;
/** What a seen item's score becomes before TopK: below any real score. */
const SEEN_SCORE = -1e30;

let modelType: protobuf.Type | undefined;
function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_SUBSET_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

type Dim = number | string;
const valueInfo = (name: string, elemType: number, dims: Dim[]) => ({
  name,
  type: {
    tensor_type: {
      elem_type: elemType,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
    },
  },
});
const tensor = (name: string, dataType: number, dims: number[], data: Float32Array | BigInt64Array) => ({
  name,
  data_type: dataType,
  dims,
  // raw_data is little-endian, as the typed arrays are on every platform Node runs on here.
  raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
});
const node = (opType: string, inputs: string[], outputs: string[], attributes: object[] = []) => ({
  op_type: opType,
  name: `${opType}_${outputs[0]}`,
  input: inputs,
  output: outputs,
  attribute: attributes,
});
const intAttr = (name: string, i: number) => ({ name, type: ATTR_INT, i });
const stringAttr = (name: string, s: string) => ({ name, type: ATTR_STRING, s: Buffer.from(s) });

/** The neighbour graph as the two [items × width] tables; rows shorter than width are padded. */
export function neighbourTables(graph: NeighbourGraph): { width: number; idx: BigInt64Array; sim: Float32Array } {
  let width = 1;
  for (let i = 0; i < graph.nItems; i++) width = Math.max(width, (graph.ptr[i + 1] as number) - (graph.ptr[i] as number));
  const idx = new BigInt64Array(graph.nItems * width);
  const sim = new Float32Array(graph.nItems * width);
  for (let i = 0; i < graph.nItems; i++) {
    const start = graph.ptr[i] as number;
    const end = graph.ptr[i + 1] as number;
    for (let c = 0; c < width; c++) {
      const q = start + c;
      // Padding points at the item itself with similarity 0: it adds nothing, and the item
      // is in the history (it is being scored from), so it is masked as seen anyway.
      idx[i * width + c] = BigInt(q < end ? (graph.idx[q] as number) : i);
      sim[i * width + c] = q < end ? (graph.sim[q] as number) : 0;
    }
  }
  return { width, idx, sim };
}

/** The ONNX model file (bytes of an onnx.ModelProto) scoring with this neighbour graph. */
export function exportKnnOnnx(graph: NeighbourGraph, producerVersion: string): Uint8Array {
  const n = graph.nItems;
  const { width, idx, sim } = neighbourTables(graph);
  const model = {
    ir_version: IR_VERSION,
    producer_name: 'recoscope',
    producer_version: producerVersion,
    model_version: 1,
    doc_string: 'item-kNN scoring: scores = history weights · neighbour similarities, seen items masked, top k',
    opset_import: [{ domain: '', version: OPSET }],
    graph: {
      name: 'knn_scoring',
      input: [valueInfo('items', INT64, ['history']), valueInfo('weights', FLOAT, ['history']), valueInfo('k', INT64, [1])],
      output: [valueInfo('values', FLOAT, ['k_out']), valueInfo('indices', INT64, ['k_out'])],
      initializer: [
        tensor('neighbour_idx', INT64, [n, width], idx),
        tensor('neighbour_sim', FLOAT, [n, width], sim),
        tensor('zeros', FLOAT, [n], new Float32Array(n)),
        tensor('axis_1', INT64, [1], BigInt64Array.of(1n)),
        tensor('flat', INT64, [1], BigInt64Array.of(-1n)),
        tensor('seen_score', FLOAT, [], Float32Array.of(SEEN_SCORE)),
      ],
      node: [
        node('Gather', ['neighbour_idx', 'items'], ['rows_idx'], [intAttr('axis', 0)]),
        node('Gather', ['neighbour_sim', 'items'], ['rows_sim'], [intAttr('axis', 0)]),
        node('Unsqueeze', ['weights', 'axis_1'], ['weights_col']),
        node('Mul', ['rows_sim', 'weights_col'], ['contrib']),
        node('Reshape', ['rows_idx', 'flat'], ['flat_idx']),
        node('Reshape', ['contrib', 'flat'], ['flat_contrib']),
        node('ScatterElements', ['zeros', 'flat_idx', 'flat_contrib'], ['scores'], [intAttr('axis', 0), stringAttr('reduction', 'add')]),
        node('Shape', ['items'], ['history_shape']),
        node('Expand', ['seen_score', 'history_shape'], ['seen_scores']),
        node('ScatterElements', ['scores', 'items', 'seen_scores'], ['masked'], [intAttr('axis', 0)]),
        node('TopK', ['masked', 'k'], ['values', 'indices'], [intAttr('axis', 0), intAttr('largest', 1), intAttr('sorted', 1)]),
      ],
    },
  };
  const type = onnxModelType();
  const problem = type.verify(model);
  if (problem !== null) throw new Error(`ONNX export: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** The part of onnxruntime-node's API used here (it is an optional dependency: no types at build time). */
interface OrtTensor {
  readonly data: unknown;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  Tensor: new (type: 'int64' | 'float32', data: BigInt64Array | Float32Array, dims: number[]) => OrtTensor;
  InferenceSession: {
    create(model: Uint8Array, options?: { intraOpNumThreads?: number; interOpNumThreads?: number; graphOptimizationLevel?: string }): Promise<OrtSession>;
  };
  env: { versions: { node?: string } };
}

/** onnxruntime-node when installed, else undefined (with why). */
export function loadOnnxRuntime(): { ort: OrtModule; version: string } | { ort: undefined; reason: string } {
  try {
    const ort = createRequire(__filename)('onnxruntime-node') as OrtModule;
    return { ort, version: ort.env.versions.node ?? 'unknown' };
  } catch (error) {
    return { ort: undefined, reason: error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error) };
  }
}

/** What a history-based request asks for: item ids and their weights (1 when not given). */
export interface HistoryQuery {
  items: Int32Array;
  weights: Float32Array;
}

/**
 * Serves `knn_onnx`: the same contract as every other model (external ids, seen items never
 * recommended, topped up from popular and reported as fallback, unknown users → popular),
 * but asynchronous, because onnxruntime's run is.
 */
export class OnnxKnnRecommender {
  readonly name = ONNX_MODEL_NAME;

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    private readonly data: Interactions,
    private readonly popular: PopularRecommender,
    /** Bytes of the .onnx model. */
    readonly modelBytes: number,
  ) {}

  static async create(ort: OrtModule, model: Uint8Array, data: Interactions, popular: PopularRecommender): Promise<OnnxKnnRecommender> {
    // One thread per run: the service is one event loop on a shared machine, and a
    // request's graph is far too small for intra-op parallelism to pay.
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    return new OnnxKnnRecommender(ort, session, data, popular, model.byteLength);
  }

  /** A known user's recommendation from their own interactions (raw weights, as `knn`). */
  async recommend(userId: number, k: number): Promise<Recommendation> {
    const u = this.data.users.indexOf(userId);
    if (u < 0) return this.popular.recommendHistory(new Int32Array(0), k, true);
    const start = this.data.userPtr[u] as number;
    const end = this.data.userPtr[u + 1] as number;
    return this.score(this.data.itemIdx.subarray(start, end), this.data.weights.subarray(start, end), k);
  }

  /** A recommendation for a basket of external item ids (unknown ids are ignored). */
  async recommendHistory(itemIds: readonly number[], k: number): Promise<Recommendation> {
    const known = knownItems(this.data, itemIds);
    if (known.length === 0) return this.popular.recommendHistory(known, k, true);
    return this.score(known, new Float32Array(known.length).fill(1), k);
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  /** `history`: dense item indices, distinct. */
  private async score(history: Int32Array, weights: Float32Array, k: number): Promise<Recommendation> {
    const { Tensor } = this.ort;
    const n = this.data.nItems;
    const items = BigInt64Array.from(history, (i) => BigInt(i));
    const asked = Math.min(k, n);
    const out = await this.session.run({
      items: new Tensor('int64', items, [items.length]),
      weights: new Tensor('float32', Float32Array.from(weights), [weights.length]),
      k: new Tensor('int64', BigInt64Array.of(BigInt(asked)), [1]),
    });
    const values = out.values?.data as Float32Array;
    const indices = out.indices?.data as BigInt64Array;
    const ids = this.data.items.ids;
    const picked = new Set<number>();
    const result: number[] = [];
    for (let r = 0; r < values.length; r++) {
      // Only items some history item has as a neighbour are candidates (score > 0: the
      // similarities are positive); the rest, like seen items, are never ranked.
      if (!((values[r] as number) > 0)) break;
      const item = Number(indices[r]);
      picked.add(item);
      result.push(ids[item] as number);
    }
    const modelItems = result.length;
    if (modelItems < k) {
      const seen = new Set<number>(history);
      this.popular.fill(result, k, 0, 0, (item) => picked.has(item) || seen.has(item));
    }
    return { items: result, coldStart: false, fallback: result.length - modelItems };
  }
}
