/**
 * Baseline: a bare Express 5 app with one route, GET /health → `res.json('I am alive')`,
 * with the service's app settings (no x-powered-by, no etag, no query parser) so the only
 * difference to the service is its middleware (access log, auth, error contract) and
 * handlers. Prints its URL as a `listening` JSON line.
 * `node dist/bench/servers/bare-express.js` (PORT=0, HOST=127.0.0.1).
 */
import { createServer } from 'node:http';
import express from 'express';
import { announce, exitOnSignals, listenAddress } from './listening';

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.set('query parser', false);
app.get('/health', (_req, res) => {
  res.json('I am alive');
});

const server = createServer(app);
const { port, host } = listenAddress();
server.listen(port, host, () => announce(server, 'bare Express 5'));
exitOnSignals(server);
