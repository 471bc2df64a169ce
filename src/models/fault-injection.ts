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

/** Every model of `models` with fault injection (FAULT_USER_DIVISOR; 0: the lookup itself). */
export function withFaultInjectionAll(models: ModelLookup, divisor: number): ModelLookup {
  if (divisor <= 0) return models;
  return {
    get: (name) => {
      const model = models.get(name);
      return model === undefined ? undefined : withFaultInjection(model, divisor);
    },
    names: () => models.names(),
  };
}
