/**
 * A private Elasticsearch node for the direct-shipping row (`direct` mode), provisioned by the
 * project's own `stack/stack.sh up es` in the benchmark's scratch directory on a free port,
 * pinned to the load generator's core like the collector (the server's core stays its own).
 * Resolves `{ ok: false, reason }` rather than throwing: the row is then skipped, with why.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../loadtest/child-server';
import { lastError, runStack } from './collector';

export interface BenchElasticsearch {
  url: string;
  stop(): Promise<void>;
}

export type ElasticsearchStart = { ok: true; es: BenchElasticsearch } | { ok: false; reason: string };

export async function startElasticsearch(options: { scratchDir: string; cpu?: number; timeoutMs: number }): Promise<ElasticsearchStart> {
  const port = await freePort();
  const runDir = join(options.scratchDir, 'es-run');
  mkdirSync(runDir, { recursive: true });
  // Elasticsearch runs as its own user and keeps its state in here.
  chmodSync(runDir, 0o755);
  chmodSync(options.scratchDir, 0o755);
  const env: Record<string, string> = { STACK_RUN_DIR: runDir, ES_PORT: String(port) };
  const up = await runStack(['up', 'es'], env, options.timeoutMs, options.cpu);
  if (up.code !== 0) {
    await runStack(['down', 'es'], env, 60_000, undefined);
    return { ok: false, reason: `stack/stack.sh up es failed: ${lastError(up.output)}` };
  }
  return {
    ok: true,
    es: {
      url: `http://127.0.0.1:${port}`,
      stop: async () => {
        await runStack(['down', 'es'], env, 60_000, undefined);
      },
    },
  };
}
