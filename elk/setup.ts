/**
 * Installs what Elasticsearch needs before Filebeat ships logs: the composable index
 * templates in elk/index-templates/*.json (file name = template name) and the reco-logs index.
 * Idempotent: templates are PUT (replaced) every time; the index is created only if missing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import type { IndicesPutIndexTemplateRequest } from '@elastic/elasticsearch/lib/api/types';
import { LOGS_INDEX } from './client';

export interface SetupResult {
  templates: string[];
  index: string;
  indexCreated: boolean;
}

type TemplateBody = Omit<IndicesPutIndexTemplateRequest, 'name'>;

export function readIndexTemplates(dir: string): { name: string; body: TemplateBody }[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const body = JSON.parse(readFileSync(join(dir, file), 'utf8')) as TemplateBody;
      if (!Array.isArray(body.index_patterns) || body.template === undefined) {
        throw new Error(`${file}: not a composable index template (needs index_patterns and template)`);
      }
      return { name: basename(file, '.json'), body };
    });
}

export async function setupElk(client: Client, templatesDir: string, index = LOGS_INDEX): Promise<SetupResult> {
  const templates = readIndexTemplates(templatesDir);
  for (const { name, body } of templates) {
    await client.indices.putIndexTemplate({ name, ...body });
  }
  // Create the index now, from the template, rather than on Filebeat's first write: the
  // mapping is then in place before any document can reach the index.
  let indexCreated = false;
  if (!(await client.indices.exists({ index }))) {
    try {
      await client.indices.create({ index });
      indexCreated = true;
    } catch (error) {
      // Lost a race with Filebeat's first bulk request: the index exists now, from the template.
      const type = (error as { body?: { error?: { type?: string } } }).body?.error?.type;
      if (type !== 'resource_already_exists_exception') throw error;
    }
  }
  return { templates: templates.map((t) => t.name), index, indexCreated };
}

/** Polls the cluster until it answers with at least yellow health, or gives up. */
export async function waitForElasticsearch(client: Client, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.cluster.health({ wait_for_status: 'yellow', timeout: '5s' });
      return;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolveSleep) => setTimeout(resolveSleep, 1_000));
    }
  }
}
