/**
 * The metrics listener: `GET /metrics` on its own port (METRICS_PORT, same HOST), so scraping
 * needs no API key, never shows up in the request metrics or the access log, and never
 * competes with /reco routing. Text format 0.0.4 or OpenMetrics by the Accept header.
 */
import { createServer, type Server } from 'node:http';
import { CONTENT_TYPES, wantsOpenMetrics, type ServiceMetrics } from './metrics';

export const METRICS_PATH = '/metrics';

export async function listenMetrics(metrics: ServiceMetrics, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const openMetrics = wantsOpenMetrics(req.headers.accept);
    metrics.render(openMetrics).then(
      (body) => {
        res.writeHead(200, {
          'content-type': openMetrics ? CONTENT_TYPES.openMetrics : CONTENT_TYPES.text,
          vary: 'Accept',
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`cannot render metrics: ${String(error)}\n`);
      },
    );
  });
  // Scrapes are short; idle keep-alive sockets must not hold a shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(port, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  return server;
}

export async function closeMetrics(server: Server): Promise<void> {
  const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  server.closeAllConnections();
  await closed;
}
