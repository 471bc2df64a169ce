/**
 * Logs evaluation runs to an MLflow tracking server through its REST API (no Python on the
 * caller's side): experiments/get-by-name (or create), then per model runs/create,
 * runs/log-batch (params, metrics, tags) and runs/update (FINISHED). They then show in the
 * MLflow UI, where runs of one experiment can be compared side by side.
 *
 *   MLFLOW_TRACKING_URI      e.g. http://127.0.0.1:5000 (only http(s) servers)
 *   MLFLOW_EXPERIMENT_NAME   default `recoscope`
 */
import type { FlatRun } from './runs';

export const DEFAULT_EXPERIMENT_NAME = 'recoscope';

export interface MlflowSettings {
  url: string;
  experimentName: string;
}

export function mlflowSettings(env: NodeJS.ProcessEnv = process.env): MlflowSettings | undefined {
  const uri = env.MLFLOW_TRACKING_URI?.trim();
  if (uri === undefined || uri === '') return undefined;
  if (!/^https?:\/\//.test(uri)) throw new Error(`MLFLOW_TRACKING_URI must be an http(s) URL of a tracking server, got ${JSON.stringify(uri)}`);
  return { url: uri.replace(/\/+$/, ''), experimentName: env.MLFLOW_EXPERIMENT_NAME?.trim() || DEFAULT_EXPERIMENT_NAME };
}

export class MlflowError extends Error {
  override name = 'MlflowError';
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string | undefined,
  ) {
    super(message);
  }
}

export class MlflowClient {
  constructor(
    readonly url: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const target = `${this.url}/api/2.0/mlflow/${path}`;
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new MlflowError(`cannot reach MLflow at ${this.url} (${(error as Error).message}); is it running? (npm run stack -- up mlflow)`, 0, undefined);
    }
    const text = await response.text();
    if (!response.ok) {
      let code: string | undefined;
      let message = text.slice(0, 300);
      try {
        const parsed = JSON.parse(text) as { error_code?: string; message?: string };
        code = parsed.error_code;
        message = parsed.message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new MlflowError(`MLflow ${method} ${path} answered ${response.status}${code ? ` ${code}` : ''}: ${message}`, response.status, code);
    }
    return (text === '' ? {} : JSON.parse(text)) as T;
  }

  /** The experiment's id, creating the experiment on first use. */
  async experimentId(name: string): Promise<string> {
    try {
      const found = await this.call<{ experiment: { experiment_id: string } }>('GET', `experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`);
      return found.experiment.experiment_id;
    } catch (error) {
      if (!(error instanceof MlflowError) || error.errorCode !== 'RESOURCE_DOES_NOT_EXIST') throw error;
    }
    try {
      const created = await this.call<{ experiment_id: string }>('POST', 'experiments/create', { name });
      return created.experiment_id;
    } catch (error) {
      // Another process created it in between.
      if (error instanceof MlflowError && error.errorCode === 'RESOURCE_ALREADY_EXISTS') return this.experimentId(name);
      throw error;
    }
  }

  /** One finished run with everything in it; returns its run id. */
  async logRun(experimentId: string, run: FlatRun, startMs: number, endMs: number): Promise<string> {
    const created = await this.call<{ run: { info: { run_id: string } } }>('POST', 'runs/create', {
      experiment_id: experimentId,
      run_name: run.name,
      start_time: startMs,
      tags: [{ key: 'mlflow.runName', value: run.name }],
    });
    const runId = created.run.info.run_id;
    const params = Object.entries(run.params).map(([key, value]) => ({ key, value }));
    const metrics = Object.entries(run.metrics).map(([key, value]) => ({ key, value, timestamp: endMs, step: 0 }));
    const tags = Object.entries(run.tags).map(([key, value]) => ({ key, value }));
    // log-batch takes at most 100 params and 1000 metrics per call; a run has far fewer.
    await this.call('POST', 'runs/log-batch', { run_id: runId, params, metrics, tags });
    await this.call('POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: endMs });
    return runId;
  }
}
