/**
 * Named stages of a recommendation, so a trace reads like the algorithm
 * (`reco.load_history` → `reco.score` → `reco.filter_seen` → `reco.fill_popular`).
 *
 * Models call `stages.run(...)`; the HTTP layer passes either `untracedStages` (tracing off:
 * a plain function call, nothing allocated) or a tracing implementation from
 * src/observability/tracing that opens one child span per stage.
 */
export type StageAttributes = Record<string, string | number | boolean>;

export interface StageSpan {
  /** Attach attributes known only once the stage has run (e.g. candidates scored). */
  setAttributes(attributes: StageAttributes): void;
}

export interface Stages {
  run<T>(name: StageName, fn: (span: StageSpan) => T): T;
}

export type StageName = 'reco.load_history' | 'reco.score' | 'reco.filter_seen' | 'reco.fill_popular';

const noopSpan: StageSpan = { setAttributes: () => undefined };

export const untracedStages: Stages = {
  run: (_name, fn) => fn(noopSpan),
};
