/**
 * `npm run bench:auth [-- --rounds N --checks N]`: the /reco key check, in process (no HTTP),
 * CPU time per check of the service's check (src/http/auth.ts) against the scheme it
 * replaced (SHA-256 of the presented token, then timingSafeEqual of the digests), interleaved
 * over rounds in one process, medians; and, for the service's check, the time per check of
 * wrong tokens that differ from the key in the first byte, in the last byte, or in length —
 * the numbers a timing attack would need to tell apart (printed, never asserted).
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { bearerCheck, type BearerCheck } from '../src/http/auth';
import { textTable, type Column } from './format';
import { median } from './stats';

const USAGE = `usage: npm run bench:auth [-- options]
  --rounds N   interleaved rounds (default 7)
  --checks N   checks per round and variant (default 200000)`;

/** The scheme before: hash both sides so the compared buffers always have equal length. */
function sha256Check(apiKey: string): BearerCheck {
  const digest = (value: string): Buffer => hash('sha256', value, 'buffer');
  const expected = digest(apiKey);
  return (authorization) => {
    const token = authorization === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
    return token !== undefined && timingSafeEqual(digest(token), expected);
  };
}

const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

/** CPU ns per call of `check` over `headers` (cycled), `n` calls. */
function time(check: BearerCheck, headers: readonly string[], n: number): number {
  let accepted = 0;
  const t0 = cpuNs();
  for (let i = 0; i < n; i++) if (check(headers[i % headers.length])) accepted++;
  const ns = (cpuNs() - t0) / n;
  // Keeps the result alive (and says the check did what it should).
  if (accepted < 0) throw new Error('unreachable');
  return ns;
}

function main(): number {
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    options: { rounds: { type: 'string' }, checks: { type: 'string' }, help: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const rounds = Number(values.rounds ?? 7);
  const checks = Number(values.checks ?? 200_000);
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError(`--rounds must be a positive integer, got '${values.rounds}'`);
  if (!Number.isInteger(checks) || checks < 1000) throw new UsageError(`--checks must be an integer ≥ 1000, got '${values.checks}'`);

  // The bench's own key shape (18 random bytes, base64url: 24 characters).
  const key = randomBytes(18).toString('base64url');
  const flip = (i: number): string => `${key.slice(0, i)}${key[i] === 'A' ? 'B' : 'A'}${key.slice(i + 1)}`;
  const good = [`Bearer ${key}`];
  const variants: { id: string; check: BearerCheck; headers: string[] }[] = [
    { id: 'before: SHA-256 + timingSafeEqual, right key', check: sha256Check(key), headers: good },
    { id: 'now: length check + timingSafeEqual, right key', check: bearerCheck(key), headers: good },
    { id: 'now: wrong first byte', check: bearerCheck(key), headers: [`Bearer ${flip(0)}`] },
    { id: 'now: wrong last byte', check: bearerCheck(key), headers: [`Bearer ${flip(key.length - 1)}`] },
    { id: 'now: wrong length (key + 1 char)', check: bearerCheck(key), headers: [`Bearer ${key}x`] },
  ];
  const ns = new Map<string, number[]>(variants.map((v) => [v.id, []]));
  for (const v of variants) time(v.check, v.headers, Math.min(checks, 50_000)); // warm-up
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) ns.get(v.id)?.push(time(v.check, v.headers, checks));
  }
  const before = median(ns.get(variants[0]!.id) ?? []);
  const columns: Column[] = [
    { header: 'check', align: 'left' },
    { header: 'CPU ns/check (median)', align: 'right' },
    { header: 'vs before', align: 'right' },
  ];
  const rows = variants.map((v) => {
    const m = median(ns.get(v.id) ?? []);
    return [v.id, m.toFixed(0), `${(m / before).toFixed(2)}×`];
  });
  process.stdout.write(`Key check per request, in process (${rounds} rounds × ${checks} checks, interleaved; Node ${process.version})\n\n${textTable(columns, rows)}\n`);
  return 0;
}

if (require.main === module) runCli('bench:auth', USAGE, main);
