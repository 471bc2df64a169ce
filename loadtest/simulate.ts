/**
 * The online simulator: users who act on their own future. The dataset is split in time
 * exactly as `npm run evaluate` splits it (evaluation/split.ts); the service serves a model
 * trained on the train part (writeTrainCsv → DATASET); each test user (warm and cold) asks the
 * experiment route once for a recommendation, and POSTs a `click` feedback for every
 * recommended item that is in that user's test-period interactions (optionally a `view` for
 * every shown item). One request per user keeps the report's units independent.
 *
 * Deterministic: the users, their order (a seeded shuffle) and so every request and every
 * feedback body are a function of the dataset, the split and the seed; only which of the
 * `concurrency` workers sends a request depends on timing.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createRng, shuffledIds } from '../src/data/prng';
import type { Interactions } from '../src/data/interactions';
import { RECOMMENDATION_ID_HEADER } from '../src/contracts';
import type { Split, TestPart } from '../evaluation/split';

export interface SimulatedUser {
  userId: number;
  /** Item ids the user interacted with in the test period (their "future"). */
  future: ReadonlySet<number>;
}

function partUsers(part: TestPart): SimulatedUser[] {
  const out: SimulatedUser[] = [];
  for (let u = 0; u < part.users.length; u++) {
    const future = new Set<number>();
    for (let p = part.ptr[u] as number; p < (part.ptr[u + 1] as number); p++) future.add(part.items[p] as number);
    out.push({ userId: part.users[u] as number, future });
  }
  return out;
}

/** The split's test users, warm and cold, in a seeded order (at most `limit` of them). */
export function simulatedUsers(split: Pick<Split, 'warm' | 'cold'>, seed: number, limit?: number): SimulatedUser[] {
  const all = [...partUsers(split.warm), ...partUsers(split.cold)].sort((a, b) => a.userId - b.userId);
  const order = shuffledIds(all.length, createRng(seed));
  const n = limit === undefined ? all.length : Math.min(limit, all.length);
  return Array.from({ length: n }, (_, i) => all[order[i] as number] as SimulatedUser);
}

/**
 * The train part as a MovieLens-schema CSV (userId,movieId,rating,timestamp, rating = the
 * stored weight): what the service loads (DATASET=<file>) so its models never saw the future
 * the simulated users click on. Loading it gives back the same store (same weights and times).
 */
export async function writeTrainCsv(train: Interactions, path: string): Promise<void> {
  const out = createWriteStream(path);
  const write = async (chunk: string): Promise<void> => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  await write('userId,movieId,rating,timestamp\n');
  let lines: string[] = [];
  for (let u = 0; u < train.nUsers; u++) {
    const user = train.users.ids[u] as number;
    for (let p = train.userPtr[u] as number; p < (train.userPtr[u + 1] as number); p++) {
      lines.push(`${user},${train.items.ids[train.itemIdx[p] as number]},${train.weights[p]},${train.timestamps[p]}\n`);
    }
    if (lines.length >= 8192) {
      await write(lines.join(''));
      lines = [];
    }
  }
  await write(lines.join(''));
  out.end();
  await once(out, 'finish');
}

export interface SimulateOptions {
  url: string;
  apiKey: string;
  /** Route name: an experiment (or a model) of `/reco/{name}/{user_id}`. */
  route: string;
  users: readonly SimulatedUser[];
  concurrency?: number;
  /** Also POST a `view` for every shown item. */
  views?: boolean;
  timeoutMs?: number;
}

export interface SimulatedRecommendation {
  userId: number;
  status: number;
  recommendationId?: string;
  items: number[];
  clicks: number[];
}

export interface SimulationResult {
  users: number;
  requests: number;
  /** Status → count of the recommendation requests. */
  statuses: Record<string, number>;
  /** Recommendations with at least one click, and the click/view lines sent. */
  clickedRecommendations: number;
  clicks: number;
  views: number;
  /** Feedback POSTs not answered 202, by status (0: no answer). */
  feedbackFailures: Record<string, number>;
  /** One entry per user, in the users' order. */
  recommendations: SimulatedRecommendation[];
}

async function postFeedback(options: SimulateOptions, body: Record<string, unknown>, failures: Record<string, number>): Promise<void> {
  let status = 0;
  try {
    const res = await fetch(`${options.url}/feedback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    status = res.status;
    await res.arrayBuffer();
  } catch {
    status = 0;
  }
  if (status !== 202) failures[String(status)] = (failures[String(status)] ?? 0) + 1;
}

async function simulateUser(options: SimulateOptions, user: SimulatedUser, result: SimulationResult): Promise<SimulatedRecommendation> {
  const res = await fetch(`${options.url}/reco/${encodeURIComponent(options.route)}/${user.userId}`, {
    headers: { authorization: `Bearer ${options.apiKey}` },
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const text = await res.text();
  const rec: SimulatedRecommendation = { userId: user.userId, status: res.status, items: [], clicks: [] };
  if (res.status !== 200) return rec;
  rec.items = (JSON.parse(text) as { items: number[] }).items;
  const id = res.headers.get(RECOMMENDATION_ID_HEADER);
  if (id === null) return rec;
  rec.recommendationId = id;
  for (const item of rec.items) {
    if (options.views === true) {
      result.views++;
      await postFeedback(options, { recommendation_id: id, user_id: user.userId, item_id: item, event: 'view' }, result.feedbackFailures);
    }
    if (user.future.has(item)) {
      rec.clicks.push(item);
      result.clicks++;
      await postFeedback(options, { recommendation_id: id, user_id: user.userId, item_id: item, event: 'click' }, result.feedbackFailures);
    }
  }
  if (rec.clicks.length > 0) result.clickedRecommendations++;
  return rec;
}

/** Replays every user once against the service; resolves when every request has its answer. */
export async function simulate(options: SimulateOptions): Promise<SimulationResult> {
  const result: SimulationResult = {
    users: options.users.length,
    requests: 0,
    statuses: {},
    clickedRecommendations: 0,
    clicks: 0,
    views: 0,
    feedbackFailures: {},
    recommendations: new Array<SimulatedRecommendation>(options.users.length),
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const user = options.users[i];
      if (user === undefined) return;
      let rec: SimulatedRecommendation;
      try {
        rec = await simulateUser(options, user, result);
      } catch {
        rec = { userId: user.userId, status: 0, items: [], clicks: [] };
      }
      result.requests++;
      result.statuses[String(rec.status)] = (result.statuses[String(rec.status)] ?? 0) + 1;
      result.recommendations[i] = rec;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  return result;
}
