/** The one stdout line the benchmark's bare servers print, in the service's own shape. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function announce(server: Server, name: string): void {
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  process.stdout.write(`${JSON.stringify({ message: `${name} listening on ${url}`, event: { action: 'listening' }, recoscope: { url } })}\n`);
}

/** PORT (default 0: any free port) and HOST (default 127.0.0.1) from the environment. */
export function listenAddress(): { port: number; host: string } {
  const port = Number.parseInt(process.env.PORT ?? '0', 10);
  return { port: Number.isInteger(port) && port >= 0 ? port : 0, host: process.env.HOST ?? '127.0.0.1' };
}

export function exitOnSignals(server: Server): void {
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
