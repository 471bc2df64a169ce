/**
 * npm run models -- list|show|promote|rollback|archive: the model registry's lifecycle
 * (src/models/model-registry.ts) from the command line. A running service picks a promotion
 * or rollback up on SIGHUP or POST /admin/models/reload (`--reload <url>` does the POST with
 * ADMIN_API_KEY).
 */
import { ADMIN_RELOAD_PATH, MODEL_ALIASES, type ModelAlias } from '../contracts';
import { configWithDataset } from './dataset-options';
import type { RegistryVersion } from '../models/model-registry';
import { openModelRegistry } from '../models/model-registry';
import { isModelAlias, ModelRefError, parseModelRef } from '../models/refs';
import { displayPath, parseCommandLine, runCli, UsageError } from './usage';

const USAGE = `usage: npm run models -- <command> [options]

  list [<model>] [--archived] [--json]        every version: aliases, params, dataset, size, offline metrics
  show <ref> [--json]                         one version (<model>, <model>@<alias>, <model>@<version>) and its model's alias history
  promote <model> <version> [--alias <a>]     point an alias (default production) at a version
  rollback <model> [--alias <a>]              point an alias back at its previous target
  archive <model> <version>                   move a version no alias holds to <model>/archive/

  --dir <artifacts>    the registry (default: ARTIFACTS_DIR, else artifacts)
  --reload <url>       after promote/rollback, POST <url>${ADMIN_RELOAD_PATH} with ADMIN_API_KEY
  aliases: ${MODEL_ALIASES.join(', ')}. A running service also reloads on SIGHUP.`;

function aliasOption(value: string | undefined): ModelAlias {
  if (value === undefined) return 'production';
  if (!isModelAlias(value)) throw new UsageError(`--alias must be one of ${MODEL_ALIASES.join(', ')}, got "${value}"`);
  return value;
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const metric = (v: RegistryVersion, key: string): string => {
  const value = v.metadata.evaluation?.metrics[key];
  return value === undefined ? '-' : value.toFixed(4);
};
const params = (v: RegistryVersion): string =>
  Object.entries(v.metadata.params as unknown as Record<string, unknown>)
    .map(([k, value]) => `${k}=${String(value)}`)
    .join(' ');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function listing(versions: RegistryVersion[]): string {
  if (versions.length === 0) return 'no versions (start the service or npm run train to make some)';
  const k = versions.find((v) => v.metadata.evaluation !== undefined)?.metadata.evaluation?.k ?? 10;
  const rows = versions.map((v) => [
    v.model,
    v.version,
    v.archived ? 'archived' : v.aliases.join(',') || '-',
    params(v),
    v.metadata.dataset.fingerprint.slice(0, 12),
    `${v.metadata.trainMs} ms`,
    mb(v.metadata.sizeBytes),
    metric(v, 'map'),
    metric(v, 'ndcg'),
    v.metadata.evaluation?.mlflowRunId ?? '-',
  ]);
  return table(['model', 'version', 'aliases', 'params', 'dataset', 'train', 'size', `MAP@${k}`, `NDCG@${k}`, 'mlflow run'], rows);
}

/** After an alias change: POST the reload to `url`, or say how a running service learns of it. */
async function tellService(url: string | undefined): Promise<string> {
  if (url === undefined) return 'a running service picks it up on SIGHUP (kill -HUP <pid>) or POST /admin/models/reload';
  const key = process.env.ADMIN_API_KEY;
  if (key === undefined || key === '') throw new UsageError('--reload needs ADMIN_API_KEY in the environment (the service\'s admin key)');
  const target = new URL(ADMIN_RELOAD_PATH, url);
  const response = await fetch(target, { method: 'POST', headers: { Authorization: `Bearer ${key}` } });
  const body = await response.text();
  if (!response.ok) throw new Error(`${target.href} answered ${response.status}: ${body.slice(0, 500)}`);
  return `reloaded ${target.origin}: ${body}`;
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: process.argv.slice(2),
    options: {
      dir: { type: 'string' },
      alias: { type: 'string' },
      archived: { type: 'boolean' },
      json: { type: 'boolean' },
      reload: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help === true) throw new UsageError('');
  const [command, ...args] = positionals;
  const dir = values.dir ?? configWithDataset(undefined).artifactsDir;
  const store = openModelRegistry(dir);
  const w = (text: string): boolean => process.stdout.write(`${text}\n`);
  const want = (n: number, what: string): string[] => {
    if (args.length !== n) throw new UsageError(`${command ?? ''} takes ${what}`);
    return args;
  };
  try {
    switch (command) {
      case 'list': {
        if (args.length > 1) throw new UsageError('list takes at most one model name');
        const versions = args[0] === undefined ? await store.list({ archived: values.archived === true }) : await store.versions(args[0], { archived: values.archived === true });
        w(values.json === true ? JSON.stringify(versions, null, 2) : `registry ${displayPath(dir)}\n${listing(versions)}`);
        return 0;
      }
      case 'show': {
        const [ref] = want(1, 'one ref: <model>, <model>@<alias> or <model>@<version>');
        parseModelRef(ref as string);
        const v = await store.resolve(ref as string);
        const state = await store.state(v.model);
        if (values.json === true) {
          w(JSON.stringify({ ...v, registry: state }, null, 2));
          return 0;
        }
        const m = v.metadata;
        w(`${v.model}@${v.version}${v.aliases.length > 0 ? ` (${v.aliases.join(', ')})` : ''}`);
        w(`  dir        ${displayPath(v.dir)}`);
        w(`  params     ${params(v)}`);
        w(`  dataset    ${m.dataset.fingerprint.slice(0, 12)}: ${m.dataset.description} (${m.dataset.users} users, ${m.dataset.items} items, ${m.dataset.interactions} interactions)`);
        w(`  trained    ${m.createdAt} in ${m.trainMs} ms, recoscope ${m.recoscopeVersion}`);
        w(`  size       ${mb(m.sizeBytes)}, sha256 ${m.sha256.slice(0, 16)}…`);
        const e = m.evaluation;
        w(
          e === undefined
            ? '  offline    no evaluation attached (npm run evaluate, then npm run train -- --evaluation runs/<id>.json)'
            : `  offline    ${Object.entries(e.metrics).map(([key, value]) => `${key}@${e.k} ${value.toFixed(4)}`).join(', ')} (evaluation ${e.evaluationId}${e.mlflowRunId === undefined ? '' : `, mlflow run ${e.mlflowRunId}`})`,
        );
        w(`  aliases    ${MODEL_ALIASES.map((a) => `${a}=${state.aliases[a] ?? '-'}`).join(' ')}`);
        for (const event of state.events.slice(-10)) {
          w(`  ${event.at}  ${event.action.padEnd(8)} ${event.alias ?? ''} ${event.version ?? `${event.from ?? '-'} → ${event.to ?? '-'}`}`);
        }
        return 0;
      }
      case 'promote': {
        const [model, version] = want(2, '<model> <version>');
        const change = await store.promote(model as string, version as string, aliasOption(values.alias));
        w(`${change.model}@${change.alias}: ${change.from ?? '(unset)'} → ${change.to}`);
        w(await tellService(values.reload));
        return 0;
      }
      case 'rollback': {
        const [model] = want(1, '<model>');
        const change = await store.rollback(model as string, aliasOption(values.alias));
        w(`${change.model}@${change.alias}: ${change.from ?? '(unset)'} → ${change.to} (rolled back)`);
        w(await tellService(values.reload));
        return 0;
      }
      case 'archive': {
        const [model, version] = want(2, '<model> <version>');
        const archived = await store.archive(model as string, version as string);
        w(`${model}@${version} archived → ${displayPath(archived.dir)}`);
        return 0;
      }
      case undefined:
        throw new UsageError('no command given');
      default:
        throw new UsageError(`unknown command "${command}" (list, show, promote, rollback, archive)`);
    }
  } catch (error) {
    // A ref that does not parse is the user's mistake: exit 2 with the line saying what is wrong.
    if (error instanceof ModelRefError) throw new UsageError(error.message, { showUsage: false });
    throw error;
  }
}

runCli('models', USAGE, main);
