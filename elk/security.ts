/**
 * Elasticsearch security for the docker-compose stack: the kibana_system password and
 * least-privilege roles/users for the two writers (Filebeat → reco-logs*, the OpenTelemetry
 * Collector → recoscope-traces*). Everything is PUT, so running it again converges (passwords
 * are reset to the configured values, roles and users replaced).
 *
 * On a cluster with security off (the local test node of stack/stack.sh) none of this
 * applies: `securityEnabled` says so and the setup job skips it.
 */
import { errors, type Client } from '@elastic/elasticsearch';
import type { SecurityIndicesPrivileges } from '@elastic/elasticsearch/lib/api/types';
import { LOGS_INDEX } from './client';

/** The collector's Elasticsearch exporter writes spans here (otel-collector/config.yaml `traces_index`). */
export const TRACES_INDEX = 'recoscope-traces';

export const FILEBEAT_USER = 'recoscope_filebeat';
export const FILEBEAT_ROLE = 'recoscope_filebeat_writer';
export const OTEL_USER = 'recoscope_otel';
export const OTEL_ROLE = 'recoscope_otel_writer';

export interface RoleSpec {
  name: string;
  description: string;
  cluster: string[];
  indices: SecurityIndicesPrivileges[];
}

export const ROLES: RoleSpec[] = [
  {
    name: FILEBEAT_ROLE,
    description:
      'Filebeat shipping recoscope logs: create documents in reco-logs* (the index and its template are made by the setup job, ' +
      'so no template, ILM or index management); monitor for the version check Filebeat makes on connect.',
    cluster: ['monitor'],
    indices: [{ names: [`${LOGS_INDEX}*`], privileges: ['create_doc', 'view_index_metadata'] }],
  },
  {
    name: OTEL_ROLE,
    description:
      'OpenTelemetry Collector Elasticsearch exporter: create span documents in recoscope-traces* and create that index on first write.',
    cluster: ['monitor'],
    indices: [{ names: [`${TRACES_INDEX}*`], privileges: ['create_doc', 'create_index', 'auto_configure', 'view_index_metadata'] }],
  },
];

export interface StackPasswords {
  kibanaSystem: string;
  filebeat: string;
  otelCollector: string;
}

export interface SecuritySetupResult {
  builtinPasswords: string[];
  roles: string[];
  users: string[];
}

/**
 * True when the cluster enforces authentication. Asks the authenticate API: with security on
 * it answers 200 (our credentials are good) or 401 (none or wrong: the next call says so);
 * with security off the security endpoints are not there (8.x answers 405/400, older
 * versions 500 "Security must be explicitly enabled"). (The X-Pack info API is no help: on
 * distributions without every X-Pack module, such as the integ-test build the local stack
 * runs, it fails with 500 whatever the security setting.)
 */
export async function securityEnabled(client: Client): Promise<boolean> {
  try {
    await client.security.authenticate();
    return true;
  } catch (error) {
    if (error instanceof errors.ResponseError) return error.statusCode === 401;
    throw error;
  }
}

export async function setupSecurity(client: Client, passwords: StackPasswords): Promise<SecuritySetupResult> {
  // Kibana's own service account: its password is the one Kibana is configured with.
  await client.security.changePassword({ username: 'kibana_system', password: passwords.kibanaSystem, refresh: 'wait_for' });
  for (const role of ROLES) {
    await client.security.putRole({
      name: role.name,
      cluster: role.cluster,
      indices: role.indices,
      metadata: { managed_by: 'recoscope', description: role.description },
      refresh: 'wait_for',
    });
  }
  const users: { username: string; password: string; role: string; fullName: string }[] = [
    { username: FILEBEAT_USER, password: passwords.filebeat, role: FILEBEAT_ROLE, fullName: 'recoscope Filebeat (log shipping)' },
    { username: OTEL_USER, password: passwords.otelCollector, role: OTEL_ROLE, fullName: 'recoscope OpenTelemetry Collector (spans)' },
  ];
  for (const user of users) {
    await client.security.putUser({
      username: user.username,
      password: user.password,
      roles: [user.role],
      full_name: user.fullName,
      enabled: true,
      metadata: { managed_by: 'recoscope' },
      refresh: 'wait_for',
    });
  }
  return { builtinPasswords: ['kibana_system'], roles: ROLES.map((r) => r.name), users: users.map((u) => u.username) };
}

/** Values that must never be used as a password: empty, or a well-known default. */
const DEFAULT_PASSWORDS = new Set(['changeme', 'changeit', 'password', 'elastic', 'kibana', 'secret']);
export const MIN_PASSWORD_LENGTH = 8;

/**
 * Why `value` is not acceptable as the password in `variable`, or undefined if it is.
 * The message names the variable and where it comes from, never the value.
 */
export function passwordProblem(variable: string, value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') {
    return `${variable} is empty: set it in .env (copy .env.example to .env and fill in every password)`;
  }
  if (DEFAULT_PASSWORDS.has(value.trim().toLowerCase())) {
    return `${variable} is a default password ("${value.trim().toLowerCase()}"): choose your own in .env`;
  }
  if (value.length < MIN_PASSWORD_LENGTH) {
    return `${variable} is shorter than ${MIN_PASSWORD_LENGTH} characters: choose a longer one in .env`;
  }
  return undefined;
}
