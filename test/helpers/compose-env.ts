/**
 * `.env.example` as the compose tests read it: the static checks of docker-compose.yml and the
 * process tier's validation with a real Compose implementation agree on one parser and one
 * list of secrets that must be filled in.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths';

/** KEY=value lines of an env file (comments and blank lines skipped). */
function parseEnvFile(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) vars.set(m[1] as string, m[2] as string);
  }
  return vars;
}

export const envExample = parseEnvFile(readFileSync(join(PROJECT_ROOT, '.env.example'), 'utf8'));

/** The secrets `.env.example` leaves empty and a user's `.env` must set. */
export const PASSWORD_VARS = ['ELASTIC_PASSWORD', 'KIBANA_SYSTEM_PASSWORD', 'FILEBEAT_PASSWORD', 'OTEL_COLLECTOR_PASSWORD', 'API_KEY', 'GRAFANA_ADMIN_PASSWORD'];
