/**
 * The HTTP error contract (src/http/errors.ts) as gRPC statuses: the same error_key and
 * message for the same situation, the HTTP status mapped to the gRPC code that means it
 * (the mapping of google.rpc.Code's documentation), and the key in two places a client can
 * read without our .proto: the trailer `error-key`, and a google.rpc.ErrorInfo
 * (reason = error_key, domain "recoscope", metadata.error_loc) in the rich status details
 * (`grpc-status-details-bin`, a serialised google.rpc.Status), which grpcurl prints.
 */
import { Metadata, status as Code } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { HttpError } from '../http/errors';

/** HTTP status of the contract → gRPC status code. */
const CODE_OF_STATUS: ReadonlyMap<number, Code> = new Map([
  [400, Code.INVALID_ARGUMENT],
  [401, Code.UNAUTHENTICATED],
  [404, Code.NOT_FOUND],
  [422, Code.INVALID_ARGUMENT],
  [429, Code.RESOURCE_EXHAUSTED],
  [500, Code.INTERNAL],
  [503, Code.UNAVAILABLE],
]);

export function grpcCode(httpStatus: number): Code {
  return CODE_OF_STATUS.get(httpStatus) ?? (httpStatus >= 500 ? Code.INTERNAL : Code.INVALID_ARGUMENT);
}

/** OK, NOT_FOUND, …: the names of the gRPC status codes (label values, log fields). */
export function codeName(code: Code): string {
  return Code[code] ?? String(code);
}

export const ERROR_KEY_TRAILER = 'error-key';
export const ERROR_DOMAIN = 'recoscope';
const DETAILS_TRAILER = 'grpc-status-details-bin';

/** google/rpc/status.proto and error_details.proto's ErrorInfo, the fields used here. */
const RPC_PROTO = `
syntax = "proto3";
package google.rpc;
message Any { string type_url = 1; bytes value = 2; }
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
`;
const root = protobuf.parse(RPC_PROTO, { keepCase: true }).root;
const StatusType = root.lookupType('google.rpc.Status');
const ErrorInfoType = root.lookupType('google.rpc.ErrorInfo');

export interface GrpcError {
  code: Code;
  details: string;
  metadata: Metadata;
}

/** The gRPC status a client gets for a contract error. */
export function grpcError(error: HttpError): GrpcError {
  const code = grpcCode(error.status);
  const metadata = new Metadata();
  metadata.set(ERROR_KEY_TRAILER, error.key);
  const info = ErrorInfoType.encode(
    ErrorInfoType.fromObject({
      reason: error.key,
      domain: ERROR_DOMAIN,
      metadata: error.loc === null ? {} : { error_loc: error.loc.join('.') },
    }),
  ).finish();
  const status = StatusType.encode(
    StatusType.fromObject({
      code,
      message: error.message,
      details: [{ type_url: 'type.googleapis.com/google.rpc.ErrorInfo', value: info }],
    }),
  ).finish();
  metadata.set(DETAILS_TRAILER, Buffer.from(status));
  // Retry-After (429, 503) as the trailer of the same name: the seconds to wait.
  const retryAfter = error.headers['Retry-After'];
  if (retryAfter !== undefined) metadata.set('retry-after', retryAfter);
  return { code, details: error.message, metadata };
}

/** Decodes the rich details of a status (tests, and any client of ours). */
export function decodeErrorInfo(detailsBin: Buffer): { code: number; message: string; reason: string; domain: string; metadata: Record<string, string> } | undefined {
  const status = StatusType.toObject(StatusType.decode(detailsBin)) as { code?: number; message?: string; details?: { type_url: string; value: Uint8Array }[] };
  const any = status.details?.find((d) => d.type_url.endsWith('/google.rpc.ErrorInfo'));
  if (any === undefined) return undefined;
  const info = ErrorInfoType.toObject(ErrorInfoType.decode(any.value)) as { reason?: string; domain?: string; metadata?: Record<string, string> };
  return { code: status.code ?? 0, message: status.message ?? '', reason: info.reason ?? '', domain: info.domain ?? '', metadata: info.metadata ?? {} };
}
