/**
 * The service's OpenAPI 3.1 document, generated at start-up from the route templates in
 * contracts.ts, the zod schemas the handlers use (schemas.ts, via `z.toJSONSchema`) and the
 * models actually loaded — so the published contract cannot drift from the code. A test
 * (test/http/openapi.test.ts) validates it as OpenAPI 3.1 and checks that its paths are
 * exactly the routes Express serves; schemathesis (test/fuzz/) holds the live service to it.
 */
import { z } from 'zod';
import { RECOMMENDATION_ID_HEADER, ROUTES } from '../contracts';
import { MAX_FEEDBACK_BYTES } from './feedback';
import {
  errorBodySchema,
  feedbackRequestSchema,
  feedbackResponseSchema,
  healthSchema,
  recoResponseSchema,
  userIdSchema,
  type ErrorKey,
} from './schemas';

/** Where the document and the docs page are served (no auth). */
export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/** Express's `/reco/:model_name/:user_id` → OpenAPI's `/reco/{model_name}/{user_id}`. */
export function openApiPath(expressTemplate: string): string {
  return expressTemplate.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

export interface OpenApiOptions {
  /** package.json version. */
  version: string;
  /** Names of the models this instance serves (the `model_name` enum). */
  models: readonly string[];
  /** Names of the A/B experiments it serves (also `model_name` values); default none. */
  experiments?: readonly string[];
  kRecs: number;
  /** Whether the auth throttle is on (documents the 429). */
  authThrottle: { limit: number; windowMs: number } | undefined;
}

type JsonObject = Record<string, unknown>;

function jsonSchema(schema: z.ZodType): JsonObject {
  const generated = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'throw' }) as JsonObject;
  // OpenAPI 3.1's default dialect is 2020-12 already: no per-schema $schema needed.
  delete generated.$schema;
  return generated;
}

const json = (schema: z.ZodType | JsonObject) => ({
  'application/json': { schema: schema instanceof z.ZodType ? jsonSchema(schema) : schema },
});

const header = (description: string, schema: JsonObject) => ({ description, required: true, schema });

function errorResponse(description: string, keys: readonly [ErrorKey, ...ErrorKey[]], headers?: JsonObject): JsonObject {
  return {
    description: `${description} Error keys: ${keys.map((k) => `\`${k}\``).join(', ')}.`,
    content: json(errorBodySchema(keys)),
    ...(headers === undefined ? {} : { headers }),
  };
}

const NOT_READY = errorResponse(
  'The port is bound before the models are ready (so a port in use fails at once); until then every request is answered 503.',
  ['service_unavailable'],
  { 'Retry-After': header('Seconds to wait before retrying', { type: 'string', pattern: '^[0-9]+$' }) },
);

export function buildOpenApiDocument(options: OpenApiOptions): JsonObject {
  const models = [...options.models];
  const experiments = [...(options.experiments ?? [])];
  const throttle =
    options.authThrottle === undefined
      ? 'Wrong-key throttling is off on this instance.'
      : `After ${options.authThrottle.limit} wrong keys from one client address within ${options.authThrottle.windowMs / 1000} s, that address is answered 429 until the window ends.`;
  const recoResponses: JsonObject = {
    '200': {
      description: `K_RECS (${options.kRecs}) recommended item ids for the user; unknown users get the cold-start (popular) list.`,
      headers: {
        'Cache-Control': header('Recommendations are never cached', { type: 'string', const: 'no-store' }),
        [RECOMMENDATION_ID_HEADER]: header('This recommendation\'s id (UUID v4): what a POST /feedback about it names', { type: 'string', format: 'uuid' }),
      },
      content: json(recoResponseSchema),
    },
    '400': errorResponse('The path is not valid percent-encoding.', ['http_exception']),
    '401': errorResponse('No `Authorization: Bearer <API_KEY>` header, or a wrong key.', ['unauthorized'], {
      'WWW-Authenticate': header('The scheme to use', { type: 'string', const: 'Bearer' }),
    }),
    '404': errorResponse('The model is not served, or user_id is above 10^9.', ['model_not_found', 'user_not_found']),
    '422': errorResponse('user_id is not a plain non-negative decimal integer (error_loc ["path", "user_id"]).', ['validation_error']),
    '500': errorResponse('An unexpected fault (details only in the log).', ['server_error']),
    '503': experiments.length === 0 ? NOT_READY : errorResponse(
      'The port is bound before the models are ready; until then every request is answered 503. Also the answer of an experiment whose arm\'s model reference no longer resolves.',
      ['service_unavailable'],
      { 'Retry-After': header('Seconds to wait before retrying', { type: 'string', pattern: '^[0-9]+$' }) },
    ),
  };
  const tooManyAuthFailures =
    options.authThrottle === undefined
      ? undefined
      : errorResponse(throttle, ['too_many_requests'], {
          'Retry-After': header('Seconds until this address may try again', { type: 'string', pattern: '^[0-9]+$' }),
        });
  if (tooManyAuthFailures !== undefined) recoResponses['429'] = tooManyAuthFailures;
  const feedbackResponses: JsonObject = {
    '202': { description: 'The event is recorded (one `recoscope.feedback` log line).', content: json(feedbackResponseSchema) },
    '400': errorResponse('The body is not valid JSON.', ['http_exception']),
    '401': recoResponses['401'],
    '413': errorResponse(`The body is larger than ${MAX_FEEDBACK_BYTES} bytes.`, ['http_exception']),
    '415': errorResponse('The body is not UTF-8 `application/json`.', ['http_exception']),
    '422': errorResponse('The body is not a feedback event (error_loc ["body", "<field>"]); nothing is recorded.', ['validation_error']),
    '500': recoResponses['500'],
    '503': NOT_READY,
  };
  if (tooManyAuthFailures !== undefined) feedbackResponses['429'] = tooManyAuthFailures;
  const servedNames = [...models, ...experiments];
  const experimentText =
    experiments.length === 0 ? '' : ` Or an A/B experiment, which serves the user's arm: ${experiments.join(', ')}.`;

  return {
    openapi: '3.1.1',
    info: {
      title: 'recoscope',
      version: options.version,
      summary: 'A recommender HTTP service (RecoServiceTemplate API).',
      description:
        'Every non-2xx answer has the RecoServiceTemplate error shape `{"errors":[{"error_key","error_message","error_loc"}]}`. ' +
        'Unknown routes answer 404 and other methods 405 (with `Allow`), both `http_exception`. ' +
        'Every answer carries `X-Content-Type-Options: nosniff`.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    paths: {
      [openApiPath(ROUTES.health)]: {
        get: {
          operationId: 'health',
          summary: 'Liveness: answers once the models are ready',
          security: [],
          responses: {
            '200': { description: 'The service is up and serving.', content: json(healthSchema) },
            '503': NOT_READY,
          },
        },
      },
      [openApiPath(ROUTES.reco)]: {
        get: {
          operationId: 'recommend',
          summary: 'Recommendations for one user from one model',
          description: throttle,
          security: [{ bearerAuth: [] }],
          parameters: [
            {
              name: 'model_name',
              in: 'path',
              required: true,
              description: `A model this instance serves: ${models.join(', ')}.${experimentText} Any other name is a 404 model_not_found.`,
              schema: { type: 'string', enum: servedNames },
            },
            { name: 'user_id', in: 'path', required: true, schema: jsonSchema(userIdSchema) },
          ],
          responses: recoResponses,
        },
      },
      [openApiPath(ROUTES.feedback)]: {
        post: {
          operationId: 'feedback',
          summary: 'What the user did with a recommended item (click, view, purchase)',
          description: `${throttle} Nothing is recorded for a rejected event.`,
          security: [{ bearerAuth: [] }],
          requestBody: { required: true, content: json(feedbackRequestSchema) },
          responses: feedbackResponses,
        },
      },
      [OPENAPI_PATH]: {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          security: [],
          responses: {
            '200': { description: 'The OpenAPI 3.1 document of this instance.', content: json({ type: 'object' }) },
            '503': NOT_READY,
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The API_KEY, as `Authorization: Bearer <API_KEY>`. The scheme name is case-insensitive (RFC 7235: `bearer`, `BEARER` work); the key is compared in constant time.',
        },
      },
    },
  };
}
