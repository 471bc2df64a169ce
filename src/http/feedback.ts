/**
 * POST /feedback: what a user did with a recommended item (click, view, purchase), naming the
 * recommendation by its `x-recommendation-id`. Validated like every input (bad input is a 4xx
 * in the error contract, its access line a warn, and nothing is recorded); each accepted event
 * is ONE log line of its own dataset (FEEDBACK_DATASET), in the same log file and index as the
 * access lines, so an online metric (CTR by arm) is a join of the two on
 * `reco.recommendation_id`.
 *
 * The feedback request's own access line carries no `reco.*` fields: the recommendation id
 * must name exactly one access line (the recommendation's), and a feedback is not a
 * recommendation for the metrics either. The feedback line also names the experiment, arm and
 * model version when this process served that recommendation recently (experiments/recent.ts):
 * what lets a dashboard split CTR by arm without a join.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { FEEDBACK_DATASET, type FeedbackEvent } from '../contracts';
import type { RecentRecommendations, ServedArm } from '../experiments/recent';
import { logEcsRecord, logLevelEnabled } from '../observability/logger';
import type { ServiceMetrics } from '../observability/metrics';
import type { BearerCheck } from './auth';
import type { AuthThrottle } from './auth-throttle';
import { errors, HttpError } from './errors';
import { requireKey } from './require-key';
import { feedbackRequestSchema, type FeedbackResponse } from './schemas';

/** A feedback body is four short fields; anything much larger is not one. */
export const MAX_FEEDBACK_BYTES = 4 * 1024;

export interface FeedbackRouteOptions {
  isAuthorized: BearerCheck;
  /** The reco route's wrong-key throttle: one budget of guesses per address, whichever route. */
  throttle?: AuthThrottle | undefined;
  metrics?: ServiceMetrics | undefined;
  /** The arms of recent experiment recommendations (their feedback lines name the arm too). */
  recent?: RecentRecommendations | undefined;
}

/** The fields of a feedback line under `reco.*` (snake_case, as the access line's). */
export interface FeedbackFields extends Partial<ServedArm> {
  recommendation_id: string;
  user_id: number;
  item_id: number;
  feedback_event: FeedbackEvent;
}

const ACCEPTED: FeedbackResponse = { accepted: true };

/** body-parser's errors (http-errors with a `type`) as the error contract's. */
function parserError(error: unknown): HttpError {
  const type = (error as { type?: unknown }).type;
  if (type === 'entity.too.large') return new HttpError(413, 'http_exception', `The body is larger than ${MAX_FEEDBACK_BYTES} bytes`);
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
    return new HttpError(415, 'http_exception', 'The body must be UTF-8 JSON without a content encoding');
  }
  if (type === 'entity.parse.failed') return new HttpError(400, 'http_exception', 'The body is not valid JSON', ['body']);
  return new HttpError(400, 'http_exception', 'Bad Request');
}

/** Zod's first issue as a 422 naming the field (`error_loc: ["body", "<field>"]`). */
function validationError(issues: readonly { path: readonly PropertyKey[]; message: string }[]): HttpError {
  const issue = issues[0];
  const loc = ['body', ...(issue?.path ?? []).map(String)];
  const where = loc.length > 1 ? loc.slice(1).join('.') : 'body';
  return new HttpError(422, 'validation_error', `${where}: ${issue?.message ?? 'invalid'}`.slice(0, 256), loc);
}

export function feedbackHandler({ isAuthorized, throttle, metrics, recent }: FeedbackRouteOptions): RequestHandler {
  // strict: only an object or array at the top (the schema wants an object).
  const parse = express.json({ limit: MAX_FEEDBACK_BYTES, strict: true, type: 'application/json' });
  return (req: Request, res: Response, next: NextFunction) => {
    // The key before the body: an unauthenticated client costs no parsing.
    requireKey(req, isAuthorized, throttle);
    parse(req, res, (error?: unknown) => {
      if (error !== undefined && error !== null) return next(parserError(error));
      try {
        record(req, metrics, recent);
      } catch (failure) {
        return next(failure);
      }
      res.status(202).json(ACCEPTED);
    });
  };
}

/** Validates the parsed body and writes the feedback line; throws the 4xx of a bad one. */
function record(req: Request, metrics: ServiceMetrics | undefined, recent: RecentRecommendations | undefined): void {
  const body: unknown = req.body;
  if (body === undefined) {
    // body-parser leaves no body for another media type, and for an empty JSON one.
    if (req.is('application/json') === false || req.headers['content-type'] === undefined) throw errors.unsupportedMediaType();
    throw new HttpError(422, 'validation_error', 'body: a JSON object is required', ['body']);
  }
  const parsed = feedbackRequestSchema.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error.issues);
  const { recommendation_id, user_id, item_id, event } = parsed.data;
  // The arm when this process served the recommendation recently (see experiments/recent.ts).
  const served = recent?.get(recommendation_id);
  const reco: FeedbackFields = { recommendation_id, user_id, item_id, feedback_event: event, ...served };
  if (logLevelEnabled('info')) {
    logEcsRecord('info', `feedback ${event} on item ${item_id} for recommendation ${recommendation_id}`, {
      event: { dataset: FEEDBACK_DATASET, action: 'feedback', kind: 'event', category: ['web'], type: ['info'] },
      reco,
    });
  }
  metrics?.feedbackEvent(event);
}
