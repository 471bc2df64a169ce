/**
 * docker-compose.yml is a valid Compose file: `docker compose config` when a Compose plugin is
 * installed, else ./compose-check (compose-go, the library Docker Compose itself loads and
 * validates files with: Compose Specification JSON schema, interpolation, profiles,
 * references) built with the Go toolchain; skipped only when neither exists. In the process
 * tier because it builds and runs a program.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths';
import { envExample, PASSWORD_VARS } from '../helpers/compose-env';

const path = (...parts: string[]): string => join(PROJECT_ROOT, ...parts);


/** .env.example with every secret filled in: what a user's .env looks like. */
function filledEnvFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'recoscope-compose-'));
  const file = join(dir, '.env');
  const lines = [...envExample].map(([k, v]) => `${k}=${PASSWORD_VARS.includes(k) ? `test-${k.toLowerCase()}-value` : v}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

// ---------------------------------------------------------------------------------------------
// A Compose implementation to validate with

type Validator = { name: string; run: (envFile: string, profiles: string[]) => { ok: boolean; output: string } };

function findValidator(): Validator | string {
  const plugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (plugin.status === 0) {
    return {
      name: `docker compose (${plugin.stdout.trim()})`,
      run: (envFile, profiles) => {
        const args = ['compose', '--project-directory', PROJECT_ROOT, '-f', path('docker-compose.yml'), '--env-file', envFile];
        for (const p of profiles) args.push('--profile', p);
        const r = spawnSync('docker', [...args, 'config'], { encoding: 'utf8' });
        return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
      },
    };
  }
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) {
    return 'neither a `docker compose` plugin nor a Go toolchain (for test/process/compose-check) is installed';
  }
  const binDir = path('.cache', 'compose-check');
  mkdirSync(binDir, { recursive: true });
  const bin = join(binDir, 'compose-check');
  // Cold: downloads compose-go's modules from the Go module proxy (a few MB); warm: ~1 s.
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: path('test', 'process', 'compose-check'), stdio: 'pipe', timeout: 10 * 60_000 });
  return {
    name: `test/process/compose-check (compose-go, ${go.stdout.trim()})`,
    run: (envFile, profiles) => {
      const r = spawnSync(bin, [path('docker-compose.yml'), envFile, ...profiles], { encoding: 'utf8' });
      return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
    },
  };
}

describe('docker-compose.yml against a Compose implementation', () => {
  let validator: Validator | string;
  before(() => {
    validator = findValidator();
  });

  it('is valid with a filled-in .env, with and without the load profile', (t) => {
    if (typeof validator === 'string') return t.skip(validator);
    t.diagnostic(`validated with ${validator.name}`);
    const envFile = filledEnvFile();
    for (const profiles of [[], ['load'], ['mlflow']]) {
      const result = validator.run(envFile, profiles);
      assert.ok(result.ok, `profiles [${profiles.join(',')}]: ${result.output}`);
      // The resolved model has every service of the profile, tags interpolated from the env file.
      assert.match(result.output, new RegExp(`docker\\.elastic\\.co/elasticsearch/elasticsearch:${envExample.get('ELASTIC_VERSION')}`));
      assert.equal(/\n {2}load:\n/.test(result.output), profiles.includes('load'), 'the load service runs only in its profile');
      assert.equal(/\n {2}mlflow:\n/.test(result.output), profiles.includes('mlflow'), 'the mlflow service runs only in its profile');
    }
  });

  it('refuses to start while .env.example still has empty passwords', (t) => {
    if (typeof validator === 'string') return t.skip(validator);
    const result = validator.run(path('.env.example'), []);
    assert.equal(result.ok, false);
    for (const v of PASSWORD_VARS) assert.match(result.output, new RegExp(`${v}`), `no message about ${v}`);
  });
});

