/** Listening and draining: the HTTP server's lifecycle, apart from what it serves. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export async function listen(handler: RequestListener, port: number, host: string): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(port, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  return server;
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
export async function bindEarly(port: number, host: string, notReady: RequestListener): Promise<EarlyServer> {
  let current: RequestListener = notReady;
  try {
    const server = await listen((req, res) => current(req, res), port, host);
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
