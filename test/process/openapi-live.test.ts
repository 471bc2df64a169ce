/**
 * /openapi.json without auth and /docs (Swagger UI from node_modules) only where it should be,
 * on the compiled service.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DOCS_PATH, OPENAPI_PATH } from '../../src/http/openapi';
import { rawRequest } from '../helpers/http';
import { assertValidOpenApi31 } from '../helpers/openapi';
import { startService, type RunningService } from '../helpers/service';

type Json = Record<string, unknown>;

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
