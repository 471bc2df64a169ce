/**
 * The models the gRPC server offers: the registry's (each answers a user or a basket of
 * items) and, when onnxruntime-node is installed, knn_onnx (asynchronous).
 */
import type { OnnxKnnRecommender } from '../models/onnx-knn';
import type { Stages } from '../models/stages';
import type { BasketRecommender, ModelLookup, Recommendation, Recommender } from '../models/types';
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
    if (!isBasketRecommender(registry.get(name) as Recommender)) continue;
    // Resolved per call, so a promotion reaches gRPC too (every served version of a name is the same class).
    const current = (): BasketRecommender => {
      const model = registry.get(name);
      if (model === undefined || !isBasketRecommender(model)) throw new Error(`model ${name} is no longer served`);
      return model;
    };
    models.set(name, {
      forUser: (userId, k, stages) => current().recommend(userId, k, stages),
      forItems: (itemIds, k, stages) => current().recommendItems(itemIds, k, stages),
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
