/**
 * The models the gRPC server offers: the registry's (each answers a user or a basket of
 * items) and, when onnxruntime-node is installed, knn_onnx (asynchronous).
 */
import type { OnnxKnnRecommender } from '../models/onnx-knn';
import type { Stages } from '../models/stages';
import type { ModelLookup, Recommendation } from '../models/types';
import { isBasketRecommender } from '../models/types';

export interface RpcModel {
  forUser(userId: number, k: number, stages: Stages): Recommendation | Promise<Recommendation>;
  forItems(itemIds: readonly number[], k: number, stages: Stages): Recommendation | Promise<Recommendation>;
}

export interface RpcModelLookup {
  get(name: string): RpcModel | undefined;
  names(): string[];
}

export function rpcModels(registry: ModelLookup, onnx: OnnxKnnRecommender | undefined): RpcModelLookup {
  const models = new Map<string, RpcModel>();
  for (const name of registry.names()) {
    const model = registry.get(name);
    if (model === undefined || !isBasketRecommender(model)) continue;
    models.set(name, {
      forUser: (userId, k, stages) => model.recommend(userId, k, stages),
      forItems: (itemIds, k, stages) => model.recommendItems(itemIds, k, stages),
    });
  }
  if (onnx !== undefined) {
    models.set(onnx.name, {
      forUser: (userId, k) => onnx.recommend(userId, k),
      forItems: (itemIds, k) => onnx.recommendHistory(itemIds, k),
    });
  }
  return { get: (name) => models.get(name), names: () => [...models.keys()] };
}
