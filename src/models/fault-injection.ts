/**
 * Demo fault injection (RecoServiceTemplate's "user 666"): users whose id is divisible by
 * the configured number make the model throw, inside the model's own stage, so the failure
 * shows up in the access log, the error log and the trace exactly like a real bug would.
 */
import type { ModelLookup, Recommendation, Recommender } from './types';
import type { Stages } from './stages';

export class InjectedFaultError extends Error {
  override name = 'InjectedFaultError';
}

export function withFaultInjection(model: Recommender, divisor: number): Recommender {
  if (divisor <= 0) return model;
  return {
    name: model.name,
    version: model.version,
    recommend(userId: number, k: number, stages: Stages): Recommendation {
      // User 0 is exempt: 0 is divisible by everything, and a real dataset may well have it.
      if (userId !== 0 && userId % divisor === 0) {
        return stages.run('reco.load_history', () => {
          throw new InjectedFaultError(`injected fault for user ${userId} (FAULT_USER_DIVISOR=${divisor})`);
        });
      }
      return model.recommend(userId, k, stages);
    },
  };
}

/**
 * Demo slow path (SLOW_USER_DIVISOR): users whose id is divisible by the divisor cost `ms`
 * of CPU inside the model call, in a function of its own, so a profile of such a request
 * shows exactly where its time went (the continuous-profiling walk's injected frame).
 */
export function injectedSlowPath(userId: number, ms: number): number {
  const until = performance.now() + ms;
  let acc = userId;
  // Real work between clock reads, so the samples land in this frame rather than in the clock.
  while (performance.now() < until) {
    for (let i = 0; i < 20_000; i++) acc = (acc * 1_103_515_245 + 12_345) % 2_147_483_648;
  }
  return acc;
}

export function withSlowPath(model: Recommender, divisor: number, ms: number): Recommender {
  if (divisor <= 0) return model;
  return {
    name: model.name,
    version: model.version,
    recommend(userId: number, k: number, stages: Stages): Recommendation {
      if (userId !== 0 && userId % divisor === 0) injectedSlowPath(userId, ms);
      return model.recommend(userId, k, stages);
    },
  };
}

export interface InjectedFaults {
  /** FAULT_USER_DIVISOR: these users' model call throws (0: none). */
  faultUserDivisor: number;
  /** SLOW_USER_DIVISOR / SLOW_USER_MS: these users' model call burns CPU first (0: none). */
  slowUserDivisor: number;
  slowUserMs: number;
}

/** Every model of `models` with the demo faults configured; the lookup itself when there are none. */
export function withInjectedFaults(models: ModelLookup, faults: InjectedFaults): ModelLookup {
  if (faults.faultUserDivisor <= 0 && faults.slowUserDivisor <= 0) return models;
  return {
    get: (name) => {
      const model = models.get(name);
      if (model === undefined) return undefined;
      return withSlowPath(withFaultInjection(model, faults.faultUserDivisor), faults.slowUserDivisor, faults.slowUserMs);
    },
    names: () => models.names(),
  };
}
