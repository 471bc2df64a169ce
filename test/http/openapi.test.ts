/**
 * The OpenAPI document: valid OpenAPI 3.1 (checked by @seriousme/openapi-schema-validator,
 * which validates against the official OAS 3.1 JSON Schema), the same paths as the routes
 * Express serves, every error key documented; served at /openapi.json without auth, and
 * rendered at /docs (Swagger UI from node_modules) only where it should be.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import { createLogger } from 'winston';
import { ROUTES } from '../../src/contracts';
import { createApp, DEFAULT_HTTP_SETTINGS } from '../../src/http/app';
import { buildOpenApiDocument, DOCS_PATH, OPENAPI_PATH, openApiPath } from '../../src/http/openapi';
import { ERROR_KEYS } from '../../src/http/schemas';
import type { ModelLookup } from '../../src/models/types';
import { rawRequest } from '../helpers/http';
import { startService, type RunningService } from '../helpers/service';

type Json = Record<string, unknown>;

const MODELS: ModelLookup = {
  get: () => undefined,
  names: () => ['popular', 'knn'],
};

function appFor(docsEnabled: boolean): Express {
  return createApp({
    models: MODELS,
    apiKey: 'openapi-test-key-0123456789',
    kRecs: 10,
    logger: createLogger({ silent: true }),
    http: { ...DEFAULT_HTTP_SETTINGS, docsEnabled },
  });
}

/** The path templates Express serves, from its router (Express 5: app.router.stack). */
function expressRoutes(app: Express): string[] {
  const router = (app as unknown as { router: { stack: { route?: { path: string } }[] } }).router;
  const routes: string[] = [];
  const walk = (stack: { route?: { path: string }; handle?: unknown }[]): void => {
    for (const layer of stack) {
      if (layer.route !== undefined) routes.push(layer.route.path);
      const inner = (layer.handle as { stack?: typeof stack } | undefined)?.stack;
      if (Array.isArray(inner)) walk(inner);
    }
  };
  walk(router.stack);
  return routes;
}

async function assertValidOpenApi31(document: Json): Promise<void> {
  const validator = new Validator();
  const result = await validator.validate(document);
  assert.equal(validator.version, '3.1');
  assert.deepEqual(result.errors, undefined, JSON.stringify(result.errors, null, 2));
  assert.equal(result.valid, true);
}

describe('OpenAPI document', () => {
  const document = buildOpenApiDocument({ version: '1.2.3', models: ['popular', 'knn'], kRecs: 10, authThrottle: { limit: 20, windowMs: 60_000 } });

  it('validates as OpenAPI 3.1, with and without the throttle', async () => {
    await assertValidOpenApi31(document);
    await assertValidOpenApi31(buildOpenApiDocument({ version: '1.2.3', models: ['popular'], kRecs: 5, authThrottle: undefined }));
  });

  it('the validator does reject a broken document (the check can fail)', async () => {
    const broken = structuredClone(document) as { paths: Record<string, { get: { responses: unknown } }> };
    broken.paths[openApiPath(ROUTES.health)]!.get.responses = 'none';
    const result = await new Validator().validate(broken);
    assert.equal(result.valid, false);
  });

  it('documents exactly the routes Express serves (docs page excepted)', () => {
    const documented = Object.keys(document.paths as Json).sort();
    const served = expressRoutes(appFor(false)).map(openApiPath).sort();
    assert.deepEqual(served, documented);
    assert.deepEqual(documented, [openApiPath(ROUTES.health), OPENAPI_PATH, '/reco/{model_name}/{user_id}'].sort());
    const withDocs = expressRoutes(appFor(true)).filter((route) => !route.startsWith(DOCS_PATH));
    assert.deepEqual(withDocs.map(openApiPath).sort(), documented);
  });

  it('every error key the service has is documented, in the error shape', () => {
    const keys = new Set<string>();
    const paths = document.paths as Record<string, Record<string, { responses: Record<string, Json> }>>;
    for (const operations of Object.values(paths)) {
      for (const operation of Object.values(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue;
          const schema = (response.content as Record<string, { schema: Json }>)['application/json']!.schema;
          assert.deepEqual(schema.required, ['errors']);
          const item = ((schema.properties as Json).errors as Json).items as Json;
          assert.deepEqual(item.required, ['error_key', 'error_message', 'error_loc']);
          for (const key of ((item.properties as Json).error_key as { enum: string[] }).enum) keys.add(key);
        }
      }
    }
    assert.deepEqual([...keys].sort(), [...ERROR_KEYS].sort());
  });

  it('the key is a bearer security scheme on /reco only', () => {
    const components = document.components as { securitySchemes: Json };
    assert.deepEqual(Object.keys(components.securitySchemes), ['bearerAuth']);
    assert.match(JSON.stringify(components.securitySchemes.bearerAuth), /"scheme":"bearer"/);
    assert.match(JSON.stringify(components.securitySchemes.bearerAuth), /case-insensitive/);
    const paths = document.paths as Record<string, { get: { security: unknown } }>;
    assert.deepEqual(paths['/reco/{model_name}/{user_id}']!.get.security, [{ bearerAuth: [] }]);
    assert.deepEqual(paths['/health']!.get.security, []);
    assert.deepEqual(paths[OPENAPI_PATH]!.get.security, []);
  });
});

describe('/openapi.json and /docs on a running service', () => {
  let dev: RunningService;
  let production: RunningService;
  let productionWithDocs: RunningService;

  before(async () => {
    [dev, production, productionWithDocs] = await Promise.all([
      startService({ env: { API_KEY: 'openapi-live-key-0123456789' } }),
      startService({ env: { API_KEY: 'openapi-live-key-0123456789', NODE_ENV: 'production' } }),
      startService({ env: { API_KEY: 'openapi-live-key-0123456789', NODE_ENV: 'production', DOCS_ENABLED: 'true' } }),
    ]);
  });

  after(async () => {
    await Promise.all([dev?.stop(), production?.stop(), productionWithDocs?.stop()]);
  });

  it('GET /openapi.json needs no key and is valid OpenAPI 3.1 naming the served models', async () => {
    const res = await rawRequest(dev.url, OPENAPI_PATH);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const served = res.json() as Json;
    await assertValidOpenApi31(served);
    const reco = (served.paths as Record<string, { get: { parameters: { name: string; schema: { enum?: string[] } }[] } }>)[
      '/reco/{model_name}/{user_id}'
    ]!;
    assert.deepEqual(reco.get.parameters.find((p) => p.name === 'model_name')?.schema.enum?.sort(), ['knn', 'knn_cosine', 'knn_tfidf', 'popular']);
  });

  it('/docs is Swagger UI from node_modules, no CDN, under a strict CSP', async () => {
    const page = await rawRequest(dev.url, DOCS_PATH);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.ok(!/(src|href)="(https?:)?\/\//.test(page.body), 'nothing is loaded from another origin');
    const scripts = [...page.body.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!);
    const styles = [...page.body.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(scripts.length >= 2 && styles.length >= 1);
    for (const asset of [...scripts, ...styles]) {
      const res = await rawRequest(dev.url, asset);
      assert.equal(res.status, 200, asset);
      assert.match(String(res.headers['content-type']), asset.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    }
    const bundle = await rawRequest(dev.url, scripts[0]!);
    assert.ok(bundle.body.length > 500_000 && bundle.body.includes('SwaggerUIBundle'), 'the real swagger-ui bundle');
    const init = await rawRequest(dev.url, scripts[1]!);
    assert.ok(init.body.includes(JSON.stringify(OPENAPI_PATH)), 'the page renders our document');
  });

  it('in production /docs is off unless DOCS_ENABLED=true; /openapi.json stays', async () => {
    assert.equal((await rawRequest(production.url, DOCS_PATH)).status, 404);
    assert.equal((await rawRequest(production.url, `${DOCS_PATH}/swagger-ui-bundle.js`)).status, 404);
    assert.equal((await rawRequest(production.url, OPENAPI_PATH)).status, 200);
    assert.equal((await rawRequest(productionWithDocs.url, DOCS_PATH)).status, 200);
  });
});
