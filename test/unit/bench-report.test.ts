import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fmtBytes, fmtInt, fmtMs, fmtRatio, markdownTable, textTable } from '../../bench/format';
import { throughputCells } from '../../bench/report';
import type { Observability } from '../../bench/servers';
import { evaluateTargets, failureReason, summarise, type RawRow, type Sample, type TargetSpec } from '../../bench/summary';

function sample(round: number, rps: number, extra: Partial<Sample> = {}): Sample {
  return {
    round,
    rps,
    p50Ms: 2,
    p99Ms: 10,
    maxMs: 20,
    responses: rps * 3,
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    statusCodes: {},
    serverCpu: 1,
    cpuUsPerRequest: 1e6 / rps,
    generatorCpu: 0.3,
    ...extra,
  };
}

const express: TargetSpec = { id: 'bare-express', label: 'bare Express 5 /health', server: 'bare-express', route: 'health', baseline: 'bare-express' };
const spec = (route: 'popular' | 'knn', obs: Observability): TargetSpec => ({
  id: `${route}/${obs}`,
  label: `/reco/${route} · ${obs}`,
  server: `svc-${obs}`,
  route,
  observability: obs,
});

function rows(): RawRow[] {
  return [
    { spec: express, warmup: sample(-1, 9000), rounds: [sample(0, 10_000), sample(1, 5_000), sample(2, 10_000)] },
    { spec: spec('knn', 'off'), rounds: [sample(0, 8_000), sample(1, 4_000), sample(2, 7_000)] },
    { spec: spec('knn', 'log'), rounds: [sample(0, 7_200), sample(1, 3_600), sample(2, 6_300)] },
    { spec: spec('knn', 'trace10'), skipped: 'stack/otelcol.sh not found', rounds: [] },
    { spec: spec('knn', 'trace100'), skipped: 'stack/otelcol.sh not found', rounds: [] },
    { spec: spec('popular', 'off'), rounds: [sample(0, 9_500), sample(1, 4_000, { non2xx: 3, statusCodes: { '500': 3 } }), sample(2, 9_000)] },
  ];
}

describe('summarise', () => {
  const summary = summarise(rows(), 3);
  const byId = (id: string) => summary.find((r) => r.spec.id === id)!;

  it('medians per row and ratios paired by round', () => {
    const knn = byId('knn/off');
    assert.equal(knn.rps, 7_000);
    // per-round knn/express: 0.8, 0.8, 0.7 → median 0.8 (a ratio of medians would say 0.7).
    assert.equal(knn.vsExpress, 0.8);
    assert.equal(knn.vsObsOff, 1);
    assert.equal(byId('bare-express').vsExpress, 1);
  });

  it('observability cost relative to the same route with observability off', () => {
    const log = byId('knn/log');
    assert.ok(Math.abs(log.vsObsOff - 0.9) < 1e-12);
    // CPU per request rises as throughput falls (1e6 / rps per sample): 1 / 0.9.
    assert.ok(Math.abs(log.cpuVsObsOff - 1 / 0.9) < 1e-12);
  });

  it('a row with any non-2xx is a failed measurement, with the status codes in the reason', () => {
    const popular = byId('popular/off');
    assert.equal(popular.status, 'failed');
    assert.equal(popular.non2xx, 3);
    assert.match(popular.reason ?? '', /3 non-2xx \(500×3\)/);
    assert.equal(byId('knn/off').status, 'ok');
  });

  it('warm-up errors count too', () => {
    const raw = rows();
    raw[0]!.warmup = sample(-1, 9000, { errors: 2, timeouts: 1 });
    const s = summarise(raw, 3)[0]!;
    assert.equal(s.status, 'failed');
    assert.equal(s.errors, 2);
    assert.equal(failureReason([raw[0]!.warmup]), '2 errors (1 timeouts)');
  });

  it('skipped rows keep their reason and have no ratios', () => {
    const trace = byId('knn/trace10');
    assert.equal(trace.status, 'skipped');
    assert.equal(trace.reason, 'stack/otelcol.sh not found');
    assert.ok(Number.isNaN(trace.vsExpress));
    assert.deepEqual(throughputCells(trace).at(-1), 'skipped: stack/otelcol.sh not found');
  });

  it('a crashed server fails its row even with no samples', () => {
    const s = summarise([{ spec: spec('knn', 'off'), crashed: 'server did not start', rounds: [] }], 3)[0]!;
    assert.equal(s.status, 'failed');
    assert.equal(s.reason, 'server did not start');
  });
});

describe('evaluateTargets', () => {
  const summary = summarise(rows(), 3);
  const targets = evaluateTargets({ rows: summary, connections: 50, kion: { trainSeconds: 41, maxRssBytes: 1.6e9 } });
  const find = (prefix: string) => targets.find((t) => t.name.startsWith(prefix))!;

  it('knn obs off against bare Express /health: ≥ 0.80×, paired by round', () => {
    const knn = find('/reco/knn obs off rps ≥ 0.80× bare Express');
    assert.equal(knn.verdict, 'met');
    assert.equal(knn.measured, '0.80×');
    assert.match(knn.note ?? '', /CPU\/req 143 µs vs Express 100 µs/);
  });
  it('file log against obs off: ≥ 0.85×, with the CPU-per-request ratio in the note', () => {
    const log = find('/reco/knn file log rps ≥ 0.85× obs off');
    assert.equal(log.verdict, 'met');
    assert.equal(log.measured, '0.90×');
    assert.match(log.note ?? '', /1\.11× the CPU\/req of obs off/);
  });
  it('a failed row does not count as measured', () => {
    assert.equal(find('/reco/popular obs off').verdict, 'not measured');
  });
  it('tracing targets are not measured when the tracing rows were skipped', () => {
    for (const prefix of ['/reco/knn log+trace 10% rps ≥ 0.80×', '/reco/knn log+trace 100% rps ≥ 0.50×']) {
      const t = find(prefix);
      assert.equal(t.verdict, 'not measured');
      assert.match(t.note ?? '', /tracing rows skipped/);
    }
  });
  it('Kion-scale training and RSS', () => {
    assert.equal(find('Kion-scale training').verdict, 'met');
    assert.equal(find('Kion-scale peak RSS').verdict, 'missed');
    assert.equal(find('Kion-scale peak RSS').measured, '1.60 GB');
    const quick = evaluateTargets({ rows: summary, connections: 16 });
    assert.equal(quick.find((t) => t.name.startsWith('Kion-scale training'))!.verdict, 'not measured');
  });
  it('no saturated p99 target any more (unreachable by Little\'s law); without a fixed-rate run the p99 line says so', () => {
    assert.equal(targets.some((t) => /saturated|50 connections/.test(t.name)), false);
    const p99 = find('/reco/knn p99 < 10 ms at half the obs-off capacity, open loop (obs off');
    assert.equal(p99.verdict, 'not measured');
    assert.match(p99.note ?? '', /no fixed-rate run/);
  });
});

describe('fixed-rate rows', () => {
  const raw = rows();
  raw.push({
    spec: { ...spec('knn', 'off'), id: 'knn/off@rate', label: '/reco/knn · off @ 3500 rps', rate: 3500 },
    rounds: [sample(0, 3500, { p99Ms: 25 }), sample(1, 3480, { p99Ms: 30 }), sample(2, 3490, { p99Ms: 12 })],
  });
  raw.push({
    spec: { ...spec('knn', 'log'), id: 'knn/log@rate', label: '/reco/knn · log @ 3500 rps', rate: 3500 },
    rounds: [sample(0, 3000, { p99Ms: 4, p50Ms: 1 }), sample(1, 3100, { p99Ms: 6, p50Ms: 1 }), sample(2, 3050, { p99Ms: 5, p50Ms: 1 })],
  });
  const summary = summarise(raw, 3);

  it('get no rps ratios and do not become the obs-off reference', () => {
    const rate = summary.find((r) => r.spec.id === 'knn/off@rate')!;
    assert.ok(Number.isNaN(rate.vsExpress));
    assert.ok(Number.isNaN(rate.vsObsOff));
    assert.ok(Math.abs(summary.find((r) => r.spec.id === 'knn/log')!.vsObsOff - 0.9) < 1e-12);
  });
  it('each mode has its own p99 target line at the rate, judged on the median p99', () => {
    const targets = evaluateTargets({ rows: summary, connections: 50 });
    const off = targets.find((x) => x.name === '/reco/knn p99 < 10 ms at half the obs-off capacity, open loop (obs off, 3500 rps)')!;
    assert.equal(off.measured, '25.0 ms');
    assert.equal(off.verdict, 'missed');
    const log = targets.find((x) => x.name === '/reco/knn p99 < 10 ms at half the obs-off capacity, open loop (file log, 3500 rps)')!;
    assert.equal(log.measured, '5.0 ms');
    assert.equal(log.verdict, 'met');
    assert.match(log.note ?? '', /kept up with only 3050 rps/, 'a row that fell behind the rate says so');
  });
});

describe('formatting', () => {
  it('numbers', () => {
    assert.equal(fmtInt(12_345.6), '12 346');
    assert.equal(fmtInt(999), '999');
    assert.equal(fmtInt(Number.NaN), '—');
    assert.equal(fmtMs(1.234), '1.23');
    assert.equal(fmtMs(12.34), '12.3');
    assert.equal(fmtMs(123.4), '123');
    assert.equal(fmtRatio(0.9049), '0.90×');
    assert.equal(fmtBytes(512), '512 B');
    assert.equal(fmtBytes(1536), '1.50 KiB');
    assert.equal(fmtBytes(1.5 * 2 ** 30), '1.50 GiB');
  });
  it('text tables align columns, numbers to the right', () => {
    const table = textTable(
      [
        { header: 'target', align: 'left' },
        { header: 'rps', align: 'right' },
      ],
      [
        ['a', '1'],
        ['longer', '12 345'],
      ],
    );
    assert.equal(table, ['target     rps', '------  ------', 'a            1', 'longer  12 345'].join('\n'));
  });
  it('markdown tables escape pipes and mark right alignment', () => {
    const md = markdownTable(
      [
        { header: 'target', align: 'left' },
        { header: 'rps', align: 'right' },
      ],
      [['a|b', '1']],
    );
    assert.equal(md, ['| target | rps |', '|:---|---:|', '| a\\|b | 1 |'].join('\n'));
  });
});

describe('the peer row and sampled-trace delivery', () => {
  const peer: TargetSpec = { id: 'knn/peer', label: '/reco/knn · peer', server: 'peer', route: 'knn', peer: { traceRatio: 0.1 } };
  const raw = rows();
  raw.push({ spec: spec('knn', 'all'), rounds: [sample(0, 6_000), sample(1, 3_000), sample(2, 5_000)] });
  raw.push({ spec: peer, rounds: [sample(0, 2_000), sample(1, 1_000), sample(2, 2_000)] });
  const summary = summarise(raw, 3);
  const all = summary.find((r) => r.spec.id === 'knn/all')!;
  all.delivery = { sampled: 1000, delivered: 995 };
  const peerRow = summary.find((r) => r.spec.id === 'knn/peer')!;
  peerRow.delivery = { sampled: 400, delivered: 300 };
  const targets = evaluateTargets({ rows: summary, connections: 50 });
  const find = (prefix: string) => targets.find((t) => t.name.startsWith(prefix))!;

  it('the peer is compared with obs off like a mode, and its CPU per request with "everything"', () => {
    assert.ok(Math.abs(peerRow.vsObsOff - 0.25) < 1e-12);
    const cpu = find('recoscope everything CPU/req < 0.50× the peer');
    // 1e6/5000 = 200 µs vs 1e6/2000 = 500 µs per request.
    assert.equal(cpu.measured, '0.40×');
    assert.equal(cpu.verdict, 'met');
    // Paired by round: 6000/8000, 3000/4000, 5000/7000 → median 0.75.
    assert.equal(find('/reco/knn everything').measured, '0.75×');
  });
  it('one delivery line per traced row, ≥ 99 % met or missed, with the counts', () => {
    const mine = find('sampled traces delivered ≥ 99 % (/reco/knn · all)');
    assert.equal(mine.verdict, 'met');
    assert.equal(mine.measured, '99.5 %');
    assert.match(mine.note ?? '', /995 of 1000/);
    assert.equal(find('sampled traces delivered ≥ 99 % (/reco/knn · peer)').verdict, 'missed');
    assert.equal(throughputCells(peerRow).at(-2), '75.0% of 400');
  });
});
