/**
 * The gRPC server beside HTTP: `recoscope.v1.Recommender/Recommend` (proto/recommender.proto)
 * on its own port (GRPC_PORT; off when unset), with the HTTP API's contract and observability:
 *
 *  - the same Bearer key, from the call's `authorization` metadata, compared in constant time
 *    (bearerCheck), with the same wrong-key throttle rules (its own window per address);
 *  - the same errors (src/http/errors.ts) as gRPC statuses with the error_key (status.ts);
 *  - every call one access line in the HTTP lines' ECS shape (event.dataset recoscope.access,
 *    event.*, url.path = the RPC path, client.ip, user_agent, reco.*, error.*, trace.id), plus
 *    `rpc.*` (system, service, method, grpc.status_code / status);
 *  - a server span with the RPC semantic conventions, W3C context from the metadata;
 *  - grpc_request_duration_seconds / grpc_requests_total / grpc_requests_in_progress, and the
 *    recommendation counters and model-call histogram HTTP requests feed;
 *  - graceful shutdown: no new calls, in-flight ones finish (bounded; then cancelled).
 *
 * What a call did is gathered in one plain object (RpcOutcome) handed to three sinks (access
 * line, metrics, span), the shape the HTTP request lifecycle hands its own sinks.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Logger } from 'winston';
import { accessErrorFields, accessEvent, accessLevel, clientText, traceFields, writeAccessRecord } from '../http/access-log';
import { logLevelEnabled } from '../observability/logger';
import { bearerCheck } from '../http/auth';
import { createAuthThrottle } from '../http/auth-throttle';
import { errors, HttpError, type RequestFailure } from '../http/errors';
import { groupingKey } from '../http/grouping-key';
import type { RecoFields } from '../http/locals';
import { MAX_USER_ID } from '../http/user-id';
import type { Recommendation } from '../models/types';
import type { ServiceMetrics } from '../observability/metrics';
import { annotateRpc, recordRpcError, requestStages, sampledTraceId, startRpcSpan, type TraceIds } from '../observability/tracing';
import { PROJECT_ROOT } from '../paths';
import type { RpcModelLookup } from './models';
import { codeName, grpcError } from './status';

export const PROTO_PATH = join(PROJECT_ROOT, 'proto', 'recommender.proto');
export const RPC_SERVICE = 'recoscope.v1.Recommender';
export const RPC_METHOD = 'Recommend';
const RPC_PATH = `/${RPC_SERVICE}/${RPC_METHOD}`;
/** Largest k and basket, as K_RECS' bound: a request is a few hundred microseconds of work. */
export const MAX_K = 1000;
export const MAX_HISTORY = 1000;

/** The request as proto-loader hands it over (keepCase, defaults, oneofs). */
interface RecommendRequest {
  model: string;
  user_id: number;
  history: { item_ids: number[] } | null;
  k: number;
  /** Which member of the oneof was set (proto-loader's `oneofs: true`). */
  subject?: 'user_id' | 'history';
}
interface RecommendResponse {
  item_ids: number[];
  cold_start: boolean;
  fallback: number;
}

export interface GrpcServerOptions {
  host: string;
  port: number;
  models: RpcModelLookup;
  apiKey: string;
  kRecs: number;
  logger: Logger;
  metrics?: ServiceMetrics;
  authFailureLimit: number;
  authFailureWindowMs: number;
}

export interface RunningGrpcServer {
  /** The bound port (GRPC_PORT=0 picks a free one). */
  port: number;
  address: string;
  /** Stops accepting calls and waits for in-flight ones, at most `timeoutMs`; true when all finished. */
  drain(timeoutMs: number): Promise<boolean>;
}

/** What one call did: what the access line, the metrics and the span are made from. */
export interface RpcOutcome {
  method: string;
  code: grpc.status;
  durationNs: bigint;
  cancelled: boolean;
  peer: string | undefined;
  userAgent: string | undefined;
  reco: RecoFields;
  failure: RequestFailure | undefined;
  traceIds: TraceIds | undefined;
  /** The sampled trace's id (metric exemplar), undefined when not sampled. */
  exemplarTraceId: string | undefined;
}

export function loadRecommenderService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  // loadPackageDefinition's result is typed as a loose GrpcObject tree; the path is the proto's package.
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { recoscope: { v1: { Recommender: grpc.ServiceClientConstructor } } };
  return pkg.recoscope.v1.Recommender.service;
}

/** `ipv4:127.0.0.1:5000`, `127.0.0.1:5000`, `[::1]:5000` → the address alone. */
export function peerAddress(peer: string): string | undefined {
  const bare = peer.replace(/^ipv[46]:/, '');
  const m = /^\[?(.*?)\]?:\d+$/.exec(bare);
  return m?.[1] ?? (bare === '' ? undefined : bare);
}

function firstString(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}

function invalid(message: string, loc: string[]): HttpError {
  return new HttpError(422, 'validation_error', message, loc);
}

/** The request's k, or the service's when unset (0); outside 1…MAX_K a validation error. */
function requestK(k: number, kRecs: number): number {
  if (k === 0) return kRecs;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw invalid(`k must be between 1 and ${MAX_K} (or unset)`, ['k']);
  return k;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const { models, kRecs, logger, metrics } = options;
  const isAuthorized = bearerCheck(options.apiKey);
  const throttle = createAuthThrottle({ limit: options.authFailureLimit, windowMs: options.authFailureWindowMs, logger });

  /** Everything after the span is started: auth, validation, the model; throws contract errors. */
  async function recommend(request: RecommendRequest, metadata: grpc.Metadata, address: string, reco: RecoFields): Promise<RecommendResponse> {
    if (throttle.size() > 0) {
      const wait = throttle.retryAfterSeconds(address);
      if (wait > 0) throw errors.tooManyAuthFailures(wait);
    }
    if (!isAuthorized(firstString(metadata, 'authorization'))) {
      throttle.recordFailure(address);
      throw errors.unauthorized();
    }
    const k = requestK(request.k, kRecs);
    reco.k = k;
    if (request.model === '') throw invalid('model is required', ['model']);
    const model = models.get(request.model);
    let answer: Recommendation | Promise<Recommendation>;
    if (request.subject === 'user_id') {
      const userId = request.user_id;
      if (userId < 0) throw invalid('user_id must be a non-negative integer', ['user_id']);
      reco.user_id = userId;
      if (userId > MAX_USER_ID) throw errors.userNotFound(String(userId));
      if (model === undefined) throw errors.modelNotFound(request.model);
      const version = model.version?.();
      if (version !== undefined) reco.model_version = version;
      annotateRpc({ 'reco.model': request.model, 'reco.user_id': userId, 'reco.k': k });
      answer = timed(request.model, () => model.forUser(userId, k, requestStages()));
    } else if (request.subject === 'history') {
      const items = request.history?.item_ids ?? [];
      if (items.length > MAX_HISTORY) throw invalid(`history must have at most ${MAX_HISTORY} item ids`, ['history', 'item_ids']);
      if (items.some((id) => id < 0)) throw invalid('item ids must be non-negative integers', ['history', 'item_ids']);
      reco.history_length = items.length;
      if (model === undefined) throw errors.modelNotFound(request.model);
      const version = model.version?.();
      if (version !== undefined) reco.model_version = version;
      annotateRpc({ 'reco.model': request.model, 'reco.history_length': items.length, 'reco.k': k });
      answer = timed(request.model, () => model.forItems(items, k, requestStages()));
    } else {
      throw invalid('one of user_id or history is required', ['subject']);
    }
    const result = answer instanceof Promise ? await answer : answer;
    reco.items_count = result.items.length;
    reco.cold_start = result.coldStart;
    reco.fallback = result.fallback;
    return { item_ids: result.items, cold_start: result.coldStart, fallback: result.fallback };
  }

  /** Times a model call into recoscope_model_call_duration_seconds, as HTTP's timedModels. */
  function timed(name: string, call: () => Recommendation | Promise<Recommendation>): Recommendation | Promise<Recommendation> {
    if (metrics === undefined) return call();
    const startedAt = performance.now();
    const done = (): void => metrics.modelCall(name, (performance.now() - startedAt) / 1000, sampledTraceId());
    let result: Recommendation | Promise<Recommendation>;
    try {
      result = call();
    } catch (error) {
      done();
      throw error;
    }
    if (result instanceof Promise) return result.finally(done);
    done();
    return result;
  }

  const handler: grpc.handleUnaryCall<RecommendRequest, RecommendResponse> = (call, callback) => {
    const startedAt = process.hrtime.bigint();
    metrics?.rpcStarted(RPC_PATH);
    const request = call.request;
    const reco: RecoFields = { model: request.model.slice(0, 128) };
    const peer = peerAddress(call.getPeer());
    const span = startRpcSpan(RPC_SERVICE, RPC_METHOD, call.metadata.getMap());
    const run = <T>(fn: () => T): T => (span === undefined ? fn() : span.run(fn));
    run(() => {
      const exemplarTraceId = sampledTraceId();
      const finish = (code: grpc.status, failure: RequestFailure | undefined): void => {
        const outcome: RpcOutcome = {
          method: RPC_PATH,
          code,
          durationNs: process.hrtime.bigint() - startedAt,
          cancelled: call.cancelled,
          peer,
          userAgent: firstString(call.metadata, 'user-agent'),
          reco: failure === undefined ? reco : { ...reco, error_key: failure.key },
          failure,
          traceIds: span?.traceIds,
          exemplarTraceId,
        };
        writeRpcAccessLine(outcome);
        metrics?.rpcDone({
          method: outcome.method,
          status: codeName(code),
          durationSeconds: Number(outcome.durationNs) / 1e9,
          traceId: exemplarTraceId,
          cancelled: outcome.cancelled,
          reco: { model: reco.model, errorKey: failure?.key, coldStart: reco.cold_start, fallback: reco.fallback, modelVersion: reco.model_version },
        });
        span?.end(code, codeName(code));
      };
      recommend(request, call.metadata, peer ?? 'unknown', reco).then(
        (response) => {
          callback(null, response);
          finish(grpc.status.OK, undefined);
        },
        (error: unknown) => {
          const contract = error instanceof HttpError ? error : new HttpError(500, 'server_error', 'Internal Server Error');
          const thrown = error instanceof Error ? error : new Error(String(error));
          const failure: RequestFailure = {
            status: contract.status,
            key: contract.key,
            error: thrown,
            groupingKey: groupingKey({ status: contract.status, key: contract.key, error: thrown, route: RPC_PATH }),
          };
          annotateRpc({ 'error.grouping_key': failure.groupingKey });
          if (failure.status >= 500) recordRpcError(thrown, { 'error.grouping_key': failure.groupingKey });
          const status = grpcError(contract);
          callback(status);
          finish(status.code, failure);
        },
      );
    });
  };

  const server = new grpc.Server();
  server.addService(loadRecommenderService(), { [RPC_METHOD]: handler });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error === null) resolve(bound);
      else reject(error);
    });
  });
  return {
    port,
    address: `${options.host}:${port}`,
    drain: (timeoutMs) =>
      new Promise<boolean>((resolve) => {
        // tryShutdown refuses new calls and resolves once every in-flight call has finished;
        // past the bound, forceShutdown cancels what is left.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve(false);
        }, timeoutMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve(true);
        });
      }),
  };
}

/** The call's access line: the HTTP access line's ECS shape, `rpc.*` instead of `http.*`. */
export function writeRpcAccessLine(o: RpcOutcome): void {
  const httpStatus = o.failure?.status ?? 200;
  const level = accessLevel(httpStatus, o.cancelled);
  if (!logLevelEnabled(level)) return;
  const name = codeName(o.code);
  const record: Record<string, unknown> = {
    event: accessEvent(o.code === grpc.status.OK && !o.cancelled ? 'success' : 'failure', o.durationNs),
    rpc: { system: 'grpc', service: RPC_SERVICE, method: RPC_METHOD, grpc: { status_code: o.code, status: name } },
    url: { path: o.method },
    client: { ip: o.peer },
    user_agent: { original: clientText(o.userAgent) },
    reco: o.reco,
  };
  Object.assign(record, traceFields(o.traceIds));
  if (o.failure !== undefined) record.error = accessErrorFields(o.failure);
  const message = `gRPC ${o.method} ${name} ${(Number(o.durationNs) / 1e6).toFixed(1)}ms${o.cancelled ? ' (client cancelled)' : ''}`;
  writeAccessRecord(level, message, record);
}
