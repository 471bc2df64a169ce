/** Listening and draining: the HTTP server's lifecycle, apart from what it serves. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RequestListener } from 'node:http';
import { DEFAULT_CONFIG } from '../config';
import { writeAccessLine } from './access-log';
import type { ErrorBody } from './errors';
import { groupingKey } from './grouping-key';

export interface ServerTimeouts {
  /** Time allowed to receive the request headers (slow-loris protection). */
  headersTimeoutMs: number;
  /** Time allowed to receive the whole request. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
}

/** The configuration's defaults (src/config.ts), for callers that pass none. */
export const DEFAULT_TIMEOUTS: ServerTimeouts = {
  headersTimeoutMs: DEFAULT_CONFIG.http.headersTimeoutMs,
  requestTimeoutMs: DEFAULT_CONFIG.http.requestTimeoutMs,
  keepAliveTimeoutMs: DEFAULT_CONFIG.http.keepAliveTimeoutMs,
};

export async function listen(
  handler: RequestListener,
  port: number,
  host: string,
  timeouts: ServerTimeouts = DEFAULT_TIMEOUTS,
): Promise<Server> {
  const server = createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      // Node checks the two request timeouts on this period (default 30 s): check often
      // enough that a timeout fires close to its setting.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(timeouts.headersTimeoutMs / 4))),
    },
    handler,
  );
  server.on('clientError', onClientError);
  server.on('checkExpectation', onUnsupportedExpectation);
  await listenOn(server, port, host);
  return server;
}

/** Starts `server` listening; rejects with the listen error (EADDRINUSE, EACCES…). */
export async function listenOn(server: Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(port, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
}

/** Node's own status for a parser-level failure (what it would answer without our handler). */
export function clientErrorStatus(code: string | undefined): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
};

function errorBody(status: number): string {
  const body: ErrorBody = { errors: [{ error_key: 'http_exception', error_message: REASONS[status] ?? 'Bad Request', error_loc: null }] };
  return JSON.stringify(body);
}

/** The request line of a rejected request, when the parser got that far (for the access line). */
function requestLine(raw: unknown): { method?: string; path?: string } {
  if (!Buffer.isBuffer(raw)) return {};
  const text = raw.subarray(0, 2048).toString('latin1');
  const match = /^([A-Z]{1,16}) (\S+) HTTP\/\d\.\d\r?\n/.exec(text);
  return match === null ? {} : { method: match[1], path: match[2] };
}

/**
 * A request Node's HTTP parser rejected (malformed, headers too large, too slow): answered in
 * our JSON error shape and logged as an access line, like every other request. A connection
 * reset before any request is not a request: no answer, no line.
 */
function onClientError(error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  const httpMessage = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || (httpMessage !== null && httpMessage !== undefined && httpMessage.headersSent)) {
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(error.code);
  const body = errorBody(status);
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Bad Request'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
  const { method, path } = requestLine(error.rawPacket);
  writeRejectedLine({
    status,
    method,
    path,
    ip: socket.remoteAddress,
    userAgent: undefined,
    errorType: error.code ?? error.name,
    errorMessage: error.message,
  });
}

/** `Expect:` other than 100-continue: Node would answer a bare 417; ours is JSON and logged. */
function onUnsupportedExpectation(req: IncomingMessage, res: ServerResponse): void {
  const body = errorBody(417);
  res.writeHead(417, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
  writeRejectedLine({
    status: 417,
    method: req.method,
    path: req.url?.split('?')[0],
    ip: req.socket.remoteAddress,
    userAgent: req.headers['user-agent'],
    errorType: 'expectation_failed',
    errorMessage: 'Expectation Failed',
  });
}

interface Rejected {
  status: number;
  method: string | undefined;
  path: string | undefined;
  ip: string | undefined;
  userAgent: string | undefined;
  errorType: string;
  errorMessage: string;
}

/**
 * A rejected request through the same access-line sink as every other: an outcome with no
 * duration (there was no request to time), failed with key http_exception.
 */
function writeRejectedLine(r: Rejected): void {
  const error = new Error(r.errorMessage);
  error.name = r.errorType;
  writeAccessLine({
    method: r.method ?? '-',
    path: r.path,
    status: r.status,
    startedAt: 0n,
    durationNs: 0n,
    aborted: false,
    route: undefined,
    reco: undefined,
    // Rejected before routing: grouped by status and parser error, like any unrouted 4xx.
    failure: {
      status: r.status,
      key: 'http_exception',
      error,
      groupingKey: groupingKey({ status: r.status, key: 'http_exception', error: new Error(r.errorType), route: undefined }),
    },
    trace: undefined,
    sampledTraceId: undefined,
    clientIp: r.ip,
    userAgent: r.userAgent,
    rejectedBy: r.errorType,
  });
}

/** The port cannot be bound (in use, no permission, no such address). */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(
    readonly host: string,
    readonly port: number,
    override readonly cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason =
      code === 'EADDRINUSE'
        ? 'address already in use'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EADDRNOTAVAIL'
            ? 'address not available on this machine'
            : cause instanceof Error
              ? cause.message
              : String(cause);
    super(`cannot listen on ${host}:${port}: ${reason}${code === undefined ? '' : ` (${code})`}`);
  }
}

/** A server bound before it has anything to serve; `serve` hands it the real handler. */
export interface EarlyServer {
  server: Server;
  serve(handler: RequestListener): void;
}

/**
 * Binds host:port at once, answering every request with `notReady` until `serve` is called,
 * so a port in use is found in milliseconds instead of after the models are trained.
 * Rejects with a ListenError.
 */
export async function bindEarly(
  port: number,
  host: string,
  notReady: RequestListener,
  timeouts: ServerTimeouts = DEFAULT_TIMEOUTS,
): Promise<EarlyServer> {
  let current: RequestListener = notReady;
  try {
    const server = await listen((req, res) => current(req, res), port, host, timeouts);
    return {
      server,
      serve: (handler) => {
        current = handler;
      },
    };
  } catch (error) {
    throw new ListenError(host, port, error);
  }
}

export function serverUrl(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * Stops accepting connections and resolves when every in-flight request has been answered.
 * Idle keep-alive sockets are closed as they become idle; after `timeoutMs` the rest are cut
 * (resolves `false` then), so a stuck client cannot hold the shutdown forever.
 */
export async function drain(server: Server, timeoutMs: number): Promise<boolean> {
  const closed = new Promise<void>((resolveClosed) => server.close(() => resolveClosed()));
  // A keep-alive socket that finishes its response after close() would otherwise stay open
  // until keepAliveTimeout; sweep idle ones until all are gone.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(true), timeoutMs);
  });
  const cut = await Promise.race([closed.then(() => false), timedOut]);
  clearInterval(sweep);
  clearTimeout(timer);
  if (cut) {
    server.closeAllConnections();
    await closed;
  }
  return !cut;
}
