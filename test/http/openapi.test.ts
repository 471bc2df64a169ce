/**
 * The OpenAPI document: valid OpenAPI 3.1 (checked by @seriousme/openapi-schema-validator,
 * which validates against the official OAS 3.1 JSON Schema), the same paths as the routes
 * Express serves, every error key documented (served by a running service:
 * test/process/openapi-live.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import { ROUTES } from '../../src/contracts';
import { createApp, DEFAULT_HTTP_SETTINGS } from '../../src/http/app';
import { buildOpenApiDocument, DOCS_PATH, OPENAPI_PATH, openApiPath } from '../../src/http/openapi';
import { ERROR_KEYS } from '../../src/http/schemas';
import type { ModelLookup } from '../../src/models/types';
import { assertValidOpenApi31 } from '../helpers/openapi';

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
    assert.deepEqual(documented, [openApiPath(ROUTES.health), OPENAPI_PATH, '/reco/{model_name}/{user_id}', '/feedback'].sort());
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
