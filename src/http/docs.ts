/**
 * `/docs`: Swagger UI (the swagger-ui-dist npm package, served from node_modules — no CDN)
 * rendering `/openapi.json`. Only the three files the page needs are served, under a
 * Content-Security-Policy that allows nothing from other origins. Mounted only when
 * DOCS_ENABLED (default: on unless NODE_ENV=production); the package is resolved only then.
 */
import { dirname, join } from 'node:path';
import { Router, type RequestHandler } from 'express';
import { DOCS_PATH, OPENAPI_PATH } from './openapi';

const ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
} as const;

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI (React) sets style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>recoscope API</title>
    <link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
    <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${DOCS_PATH}/init.js"></script>
  </body>
</html>
`;

// In a file of its own (not inline) so the CSP needs no 'unsafe-inline' for scripts.
const INIT = `window.ui = SwaggerUIBundle({ url: ${JSON.stringify(OPENAPI_PATH)}, dom_id: '#swagger-ui', deepLinking: true });\n`;

export function docsRouter(): Router {
  const dir = dirname(require.resolve('swagger-ui-dist/package.json'));
  const router = Router();
  const csp: RequestHandler = (_req, res, next) => {
    res.setHeader('Content-Security-Policy', CSP);
    next();
  };
  router.get(DOCS_PATH, csp, (_req, res) => {
    res.type('html').send(PAGE);
  });
  router.get(`${DOCS_PATH}/init.js`, (_req, res) => {
    res.type('text/javascript; charset=utf-8').send(INIT);
  });
  for (const [file, type] of Object.entries(ASSETS)) {
    router.get(`${DOCS_PATH}/${file}`, (_req, res, next) => {
      res.sendFile(join(dir, file), { headers: { 'Content-Type': type }, maxAge: '1h' }, (error) => {
        if (error !== undefined) next(error);
      });
    });
  }
  return router;
}
