/**
 * knn_onnx: the ONNX graph exported from knn's neighbour graph, run by the real
 * onnxruntime-node, must compute knn's scores (float32 against float64: within 1e-5
 * relative) and so its lists; a basket of items must get what knn's recommendHistory gives;
 * the file must be a ModelProto a protobuf decoder reads back with the declared opset.
 */
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import protobuf from 'protobufjs';
import { generateInteractions } from '../../src/data/synthetic';
import type { Interactions } from '../../src/data/interactions';
import { modelSpec } from '../../src/models/catalog';
import { knownItems } from '../../src/models/history';
import type { ItemKnnRecommender } from '../../src/models/knn';
import { exportKnnOnnx, loadOnnxRuntime, neighbourTables, OnnxKnnRecommender } from '../../src/models/onnx-knn';
import type { PopularRecommender } from '../../src/models/popular';
import { untracedStages } from '../../src/models/stages';
import { instantiate, trainModel } from '../../src/models/training';

const PARAMS = { popularWindowDays: 14, knnNeighbours: 20, bm25K1: 1.2, bm25B: 0.75 };

describe('knn_onnx (ONNX export of the kNN scoring, onnxruntime-node)', () => {
  let data: Interactions;
  let knn: ItemKnnRecommender;
  let popular: PopularRecommender;
  let bytes: Uint8Array;
  let onnx: OnnxKnnRecommender;

  before(async () => {
    data = generateInteractions({ users: 1500, items: 400, interactions: 20_000, seed: 11 });
    const ps = modelSpec('popular', PARAMS);
    popular = instantiate(ps, trainModel(ps, data).state, data, undefined) as PopularRecommender;
    const ks = modelSpec('knn', PARAMS);
    knn = instantiate(ks, trainModel(ks, data).state, data, popular) as ItemKnnRecommender;
    bytes = exportKnnOnnx(knn.graph, 'test');
    const runtime = loadOnnxRuntime();
    assert.ok(runtime.ort !== undefined, `onnxruntime-node must be installed (npm ci installs optional dependencies): ${runtime.ort === undefined ? runtime.reason : ''}`);
    onnx = await OnnxKnnRecommender.create(runtime.ort, bytes, data, popular);
  });

  after(async () => {
    await onnx?.close();
  });

  it('lays the graph out as [items × widest row] tables, short rows padded with the item itself at 0', () => {
    const graph = { nItems: 3, ptr: Int32Array.of(0, 2, 3, 3), idx: Int32Array.of(1, 2, 0), sim: Float32Array.of(0.5, 0.25, 1) };
    const tables = neighbourTables(graph);
    assert.equal(tables.width, 2);
    assert.deepEqual([...tables.idx], [1n, 2n, 0n, 1n, 2n, 2n]);
    assert.deepEqual([...tables.sim], [0.5, 0.25, 1, 0, 0, 0]);
  });

  it('writes a ModelProto: IR 8, opset 18, the graph operators, the tables as initializers', () => {
    // Decoded with a schema written here independently of the exporter's (field numbers of onnx.proto).
    const root = protobuf.parse(`
      syntax = "proto2"; package t;
      message Op { optional string domain = 1; optional int64 version = 2; }
      message Tensor { repeated int64 dims = 1; optional int32 data_type = 2; optional string name = 8; }
      message Node { repeated string input = 1; repeated string output = 2; optional string op_type = 4; }
      message Graph { repeated Node node = 1; repeated Tensor initializer = 5; }
      message Model { optional int64 ir_version = 1; optional Graph graph = 7; repeated Op opset_import = 8; }
    `, { keepCase: true }).root;
    const Model = root.lookupType('t.Model');
    const model = Model.toObject(Model.decode(bytes), { longs: Number }) as {
      ir_version: number;
      opset_import: { version: number }[];
      graph: { node: { op_type: string }[]; initializer: { name: string; dims: number[]; data_type: number }[] };
    };
    assert.equal(model.ir_version, 8);
    assert.deepEqual(model.opset_import.map((o) => o.version), [18]);
    assert.deepEqual([...new Set(model.graph.node.map((n) => n.op_type))].sort(), ['Expand', 'Gather', 'Mul', 'Reshape', 'ScatterElements', 'Shape', 'TopK', 'Unsqueeze']);
    const idx = model.graph.initializer.find((t) => t.name === 'neighbour_idx');
    assert.deepEqual(idx?.dims, [data.nItems, neighbourTables(knn.graph).width]);
    assert.equal(idx?.data_type, 7);
  });

  it("scores every known user as knn does: same items, scores within float32's precision", async () => {
    let compared = 0;
    let sameLists = 0;
    for (const userId of data.users.ids.slice(0, 400)) {
      const expected = knn.recommendWithScores(userId, 10);
      const got = await onnx.recommend(userId, 10);
      assert.equal(got.coldStart, false);
      const modelItems = expected.items.length - expected.fallback;
      assert.equal(got.items.length - got.fallback, modelItems, `user ${userId}: model items`);
      // Ranks may swap only between scores equal in float32; compare the score at each rank.
      const scoreOf = new Map<number, number>();
      const full = knn.recommendWithScores(userId, data.nItems);
      full.items.forEach((item, r) => scoreOf.set(item, full.scores[r] as number));
      for (let r = 0; r < modelItems; r++) {
        const want = expected.scores[r] as number;
        const have = scoreOf.get(got.items[r] as number);
        assert.ok(have !== undefined && Math.abs(have - want) <= 1e-5 * Math.abs(want), `user ${userId} rank ${r}: ${have} vs ${want}`);
      }
      if (got.items.join() === expected.items.join()) sameLists++;
      compared++;
    }
    assert.equal(compared, 400);
    // Ties in float32 are rare: nearly every list is identical.
    assert.ok(sameLists >= 390, `${sameLists}/400 identical lists`);
  });

  it('answers an unknown user with popular (cold start), like knn', async () => {
    const expected = knn.recommend(999_999_999, 10, untracedStages);
    const got = await onnx.recommend(999_999_999, 10);
    assert.deepEqual(got, expected);
  });

  it("answers a basket of items as knn's recommendHistory, never recommending the basket", async () => {
    const ids = data.items.ids;
    for (let b = 0; b < 50; b++) {
      const basket = [ids[(b * 7) % ids.length] as number, ids[(b * 13 + 1) % ids.length] as number, ids[(b * 29 + 2) % ids.length] as number];
      const expected = knn.recommendHistory(knownItems(data, basket), 8, untracedStages);
      const got = await onnx.recommendHistory(basket, 8);
      assert.equal(got.items.length, 8);
      for (const item of basket) assert.ok(!got.items.includes(item), `basket item ${item} recommended`);
      assert.deepEqual(new Set(got.items.slice(0, got.items.length - got.fallback)), new Set(expected.items.slice(0, expected.items.length - expected.fallback)));
    }
  });

  it('treats unknown and repeated item ids as knn does (ignored, counted once)', async () => {
    const id = data.items.ids[5] as number;
    const plain = await onnx.recommendHistory([id], 5);
    assert.deepEqual(await onnx.recommendHistory([id, id, 2_000_000_000], 5), plain);
    const none = await onnx.recommendHistory([2_000_000_000], 5);
    assert.equal(none.coldStart, true);
    assert.deepEqual(none.items, popular.recommendHistory(new Int32Array(0), 5).items);
  });
});
