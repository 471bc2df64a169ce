/**
 * The A/B report's core on recorded documents shaped like the service's access and feedback
 * lines (ECS, `reco.*`): the join rule, orphans, the control, the verdicts and the renderings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildReport, countsFromDocuments, renderHtml, renderMarkdown, renderTerminal, type LogDocument } from '../../abtest/report';
import { twoProportionZTest } from '../../abtest/stats';
import { ACCESS_DATASET, FEEDBACK_DATASET } from '../../src/contracts';

function access(arm: string, id: string | undefined, status = 200, experiment = 'homepage', durationMs = 2): LogDocument {
  return {
    '@timestamp': '2026-12-01T00:00:00.000Z',
    event: { dataset: ACCESS_DATASET, duration: durationMs * 1e6 },
    http: { response: { status_code: status } },
    reco: { model: arm === 'baseline' ? 'popular' : 'knn', model_version: `${arm}-v1`, experiment, arm, ...(id !== undefined ? { recommendation_id: id } : {}) },
  };
}
function feedback(id: string, event = 'click'): LogDocument {
  return { event: { dataset: FEEDBACK_DATASET, action: 'feedback' }, reco: { recommendation_id: id, user_id: 1, item_id: 2, feedback_event: event } };
}

/** n recommendations in `arm`, the first `clicked` of them clicked (twice, to check distinctness). */
function arm(name: string, n: number, clicked: number): LogDocument[] {
  const docs: LogDocument[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${name}-${i}`;
    docs.push(access(name, id));
    if (i < clicked) docs.push(feedback(id), feedback(id), feedback(id, 'view'));
    else docs.push(feedback(id, 'view'));
  }
  return docs;
}

describe('countsFromDocuments (the join rule)', () => {
  it('attributes a click to the arm of the access line with its id, once per recommendation', () => {
    const docs = [...arm('control', 3, 2), ...arm('treatment', 2, 1), access('control', undefined, 500), access('treatment', undefined, 422)];
    const counts = countsFromDocuments(docs, 'homepage');
    const byArm = new Map(counts.arms.map((a) => [a.arm, a]));
    assert.deepEqual(
      [byArm.get('control')?.requests, byArm.get('control')?.recommendations, byArm.get('control')?.clicked, byArm.get('control')?.errors],
      [4, 3, 2, 1],
    );
    assert.deepEqual([byArm.get('treatment')?.requests, byArm.get('treatment')?.clicked, byArm.get('treatment')?.clientErrors], [3, 1, 1]);
    assert.deepEqual(byArm.get('control')?.versions, ['control-v1']);
    assert.equal(counts.clickedIds, 3);
    assert.equal(counts.orphanClicks, 0);
  });
  it('counts a click without an access line as an orphan, and ignores other experiments', () => {
    const docs = [...arm('control', 2, 1), feedback('nowhere'), access('control', 'other-1', 200, 'search'), feedback('other-1')];
    const counts = countsFromDocuments(docs, 'homepage');
    assert.equal(counts.orphanClicks, 1);
    assert.equal(counts.clickedIds, 3);
    assert.deepEqual(counts.arms.map((a) => [a.arm, a.requests, a.clicked]), [['control', 2, 1]]);
  });
  it('takes nearest-rank latency percentiles of event.duration', () => {
    const docs = Array.from({ length: 100 }, (_, i) => access('control', `c${i}`, 200, 'homepage', i + 1));
    const [control] = countsFromDocuments(docs, 'homepage').arms;
    assert.deepEqual(control?.latencyMs, { p50: 50, p99: 99 });
  });
});

describe('buildReport', () => {
  const docs = [...arm('control', 1000, 100), ...arm('treatment', 1000, 150), ...arm('baseline', 50, 5)];
  const report = buildReport(countsFromDocuments(docs, 'homepage'), { weights: { control: 70, treatment: 20, baseline: 10 }, source: 'test' });
  const row = (name: string) => report.arms.find((a) => a.arm === name);
  it('compares each arm with the control by the z-test and states the MDE', () => {
    assert.equal(report.control, 'control');
    assert.equal(report.arms[0]?.arm, 'control');
    const expected = twoProportionZTest(100, 1000, 150, 1000);
    assert.equal(row('treatment')?.pValue, expected.pValue);
    assert.equal(row('treatment')?.verdict, 'significant');
    assert.ok((row('treatment')?.mde ?? 0) > 0);
    assert.equal(row('control')?.verdict, 'control');
    assert.equal(row('treatment')?.weightShare, 0.2);
  });
  it('says "not enough data" below the minimum sample, with no p-value', () => {
    assert.equal(row('baseline')?.verdict, 'not enough data');
    assert.equal(row('baseline')?.pValue, undefined);
  });
  it('renders the same rows in the terminal, Markdown and HTML', () => {
    for (const out of [renderTerminal(report), renderMarkdown(report), renderHtml(report)]) {
      assert.match(out, /treatment/);
      assert.match(out, /not enough data/);
      assert.match(out, /15\.00 %/);
    }
    assert.match(renderHtml(report), /^<!doctype html>/);
  });
  it('refuses a control arm that has no requests', () => {
    assert.throws(() => buildReport(countsFromDocuments(docs, 'homepage'), { control: 'nope', source: 'test' }), /control arm "nope"/);
  });
});
