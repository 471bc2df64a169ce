/**
 * The bodies the service answers, as zod schemas: the TypeScript types of the handlers are
 * inferred from them and the OpenAPI document (openapi.ts) is generated from them, so the
 * code and the published contract are one definition.
 */
import { z } from 'zod';
import { FEEDBACK_EVENTS } from '../contracts';

/** Every `error_key` the service can answer. */
export const ERROR_KEYS = [
  'unauthorized',
  'model_not_found',
  'user_not_found',
  'validation_error',
  'http_exception',
  'server_error',
  'too_many_requests',
  'service_unavailable',
] as const;
export const errorKeySchema = z.enum(ERROR_KEYS);
export type ErrorKey = z.infer<typeof errorKeySchema>;

/** The RecoServiceTemplate error body, narrowed to the keys a given status can carry. */
export function errorBodySchema(keys: readonly [ErrorKey, ...ErrorKey[]] = ERROR_KEYS) {
  return z
    .object({
      errors: z
        .array(
          z
            .object({
              error_key: z.enum(keys),
              error_message: z.string().meta({ description: 'Human-readable; client text in it is clipped to 64 characters' }),
              error_loc: z
                .array(z.string())
                .nullable()
                .meta({ description: 'Where the bad input is, e.g. ["path", "user_id"]; null when the error is not about a field' }),
            })
            .strict(),
        )
        .min(1),
    })
    .strict();
}
export type ErrorBody = z.infer<ReturnType<typeof errorBodySchema>>;

export const healthSchema = z.literal('I am alive');

/** user_id in the path: a plain non-negative decimal; above 10^9 is a 404 user_not_found. */
export const userIdSchema = z.int().min(0).meta({
  description:
    'A plain non-negative decimal integer (ASCII digits only; signs, blanks, exponents and hex are a 422). Ids above 10^9 are answered 404 user_not_found.',
  examples: [1],
});

export const recoResponseSchema = z
  .object({
    user_id: z.int().min(0).max(1_000_000_000),
    items: z
      .array(z.int().min(0))
      .meta({ description: 'K_RECS distinct item ids, best first (fewer only when the catalogue is smaller)' }),
  })
  .strict();
export type RecoResponse = z.infer<typeof recoResponseSchema>;

/**
 * POST /feedback: what a user did with a recommended item. The ids are the reco route's
 * (non-negative, users up to 10^9); `recommendation_id` is the `x-recommendation-id` header
 * of the recommendation it answers.
 */
export const feedbackRequestSchema = z
  .object({
    recommendation_id: z.uuid().meta({ description: 'The `x-recommendation-id` header of the recommendation this event answers' }),
    user_id: z.int().min(0).max(1_000_000_000),
    item_id: z.int().min(0).max(2 ** 31 - 1),
    event: z.enum(FEEDBACK_EVENTS),
  })
  .strict();
export type FeedbackRequest = z.infer<typeof feedbackRequestSchema>;

export const feedbackResponseSchema = z.object({ accepted: z.literal(true) }).strict();
export type FeedbackResponse = z.infer<typeof feedbackResponseSchema>;
