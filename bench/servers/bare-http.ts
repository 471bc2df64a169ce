/**
 * Baseline: the cheapest possible answer from node:http, the same body and content type as
 * the service's GET /health (`"I am alive"`), for every path. Prints its URL as a
 * `listening` JSON line. `node dist/bench/servers/bare-http.js` (PORT=0, HOST=127.0.0.1).
 */
import { createServer } from 'node:http';
import { announce, exitOnSignals, listenAddress } from './listening';

const body = Buffer.from(JSON.stringify('I am alive'));

const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
});

const { port, host } = listenAddress();
server.listen(port, host, () => announce(server, 'bare node:http'));
exitOnSignals(server);
