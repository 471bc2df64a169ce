/**
 * Start-up of the gRPC side (main.ts calls this when GRPC_PORT is set): knn_onnx exported
 * from the served knn model's graph and loaded into onnxruntime (skipped, with a warning,
 * when onnxruntime-node is not installed or there is no knn model), then the server.
 */
import type { Logger } from 'winston';
import type { Config } from '../config';
import { ItemKnnRecommender } from '../models/knn';
import { exportKnnOnnx, loadOnnxRuntime, ONNX_MODEL_NAME, OnnxKnnRecommender } from '../models/onnx-knn';
import type { PreparedModels } from '../models/registry';
import type { ServiceMetrics } from '../observability/metrics';
import { PACKAGE } from '../paths';
import { rpcModels } from './models';
import { startGrpcServer, type RunningGrpcServer } from './server';

export interface GrpcServiceOptions {
  config: Config;
  apiKey: string;
  prepared: PreparedModels;
  metrics: ServiceMetrics | undefined;
  logger: Logger;
}

async function onnxModel(prepared: PreparedModels, logger: Logger): Promise<OnnxKnnRecommender | undefined> {
  const knn = prepared.registry.get('knn');
  if (!(knn instanceof ItemKnnRecommender)) {
    logger.warn(`${ONNX_MODEL_NAME} not served: it is exported from the knn model, which is not loaded`, { event: { action: 'onnx-skipped' } });
    return undefined;
  }
  const runtime = loadOnnxRuntime();
  if (runtime.ort === undefined) {
    logger.warn(`${ONNX_MODEL_NAME} not served: onnxruntime-node (an optional dependency) is not installed: ${runtime.reason}`, {
      event: { action: 'onnx-skipped' },
    });
    return undefined;
  }
  const started = performance.now();
  const bytes = exportKnnOnnx(knn.graph, PACKAGE.version);
  const model = await OnnxKnnRecommender.create(runtime.ort, bytes, knn.data, knn.popular);
  const ms = Math.round(performance.now() - started);
  logger.info(`model ${ONNX_MODEL_NAME} exported from knn and loaded into onnxruntime ${runtime.version} in ${ms} ms`, {
    event: { action: 'model-loaded' },
    recoscope: { model: ONNX_MODEL_NAME, onnx_bytes: bytes.byteLength, load_ms: ms, onnxruntime: runtime.version },
  });
  return model;
}

export async function startGrpcService({ config, apiKey, prepared, metrics, logger }: GrpcServiceOptions): Promise<RunningGrpcServer> {
  const onnx = await onnxModel(prepared, logger);
  const models = rpcModels(prepared.registry, onnx);
  const server = await startGrpcServer({
    host: config.host,
    port: config.grpc.port ?? 0,
    models,
    apiKey,
    kRecs: config.kRecs,
    logger,
    ...(metrics === undefined ? {} : { metrics }),
    authFailureLimit: config.http.authFailureLimit,
    authFailureWindowMs: config.http.authFailureWindowMs,
  });
  if (metrics !== undefined && onnx !== undefined) {
    metrics.addModel({ model: onnx.name, version: 'exported-at-startup', datasetFingerprint: prepared.dataset.fingerprint, source: 'trained', loadSeconds: 0 });
  }
  logger.info(`gRPC on ${server.address} (recoscope.v1.Recommender, models ${models.names().join(', ')})`, {
    event: { action: 'grpc-listening' },
    recoscope: { grpc: { address: server.address, port: server.port, models: models.names() } },
  });
  return server;
}
