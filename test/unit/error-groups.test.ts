/**
 * `npm run errors`: the search it sends and how it reads the answer. The e2e walk runs it
 * against a real Elasticsearch; here the response shape is the one ES 8 returns for these
 * aggregations (min/max with value_as_string, cardinality, top_hits).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildErrorGroupsSearch, formatErrorGroups, parseErrorGroups, type ErrorGroupsResponse } from '../../elk/error-groups';

describe('error groups search', () => {
  it('asks for failed access lines of the window, grouped by error.grouping_key', () => {
    const body = buildErrorGroupsSearch({ since: '1h', level: 'error', size: 5 });
    assert.equal(body.size, 0);
    const filter = (body.query.bool?.filter ?? []) as Record<string, unknown>[];
    assert.deepEqual(filter, [
      { term: { 'event.dataset': 'recoscope.access' } },
      { exists: { field: 'error.grouping_key' } },
      { range: { '@timestamp': { gte: 'now-1h' } } },
      { term: { 'log.level': 'error' } },
    ]);
    const groups = body.aggs.groups as { terms: { field: string; size: number }; aggs: Record<string, Record<string, { field?: string }>> };
    assert.equal(groups.terms.field, 'error.grouping_key');
    assert.equal(groups.terms.size, 5);
    assert.equal(groups.aggs.users?.cardinality?.field, 'reco.user_id');
    assert.equal(groups.aggs.first_seen?.min?.field, '@timestamp');
    assert.equal(groups.aggs.last_seen?.max?.field, '@timestamp');
    assert.ok(groups.aggs.sample?.top_hits);
    assert.deepEqual(groups.aggs.versions, { terms: { field: 'reco.model_version', size: 10, missing: '-' } });
    const one = buildErrorGroupsSearch({ size: 5, modelVersion: '20261201T231820123Z-3f9c2a1b' });
    assert.deepEqual((one.query.bool?.filter as unknown[]).at(-1), { term: { 'reco.model_version': '20261201T231820123Z-3f9c2a1b' } });
    assert.throws(() => buildErrorGroupsSearch({ since: 'yesterday', size: 5 }), /--since/);
    const all = buildErrorGroupsSearch({ size: 5 });
    assert.equal((all.query.bool?.filter as unknown[]).length, 2, 'no window, no level: all failures');
  });

  it('reads one row per bucket: count, users, first/last seen and the newest sample', () => {
    const response: ErrorGroupsResponse = {
      hits: { total: { value: 13 } },
      aggregations: {
        groups: {
          buckets: [
            {
              key: '500 InjectedFaultError at <anonymous> (src/models/fault-injection.ts)',
              doc_count: 9,
              users: { value: 4 },
              first_seen: { value: 1764086400000, value_as_string: '2025-11-25T16:00:00.000Z' },
              last_seen: { value: 1764086460000, value_as_string: '2025-11-25T16:01:00.000Z' },
              versions: {
                buckets: [
                  { key: '20261201T231820123Z-3f9c2a1b', doc_count: 6 },
                  { key: '20261202T080000000Z-3f9c2a1b', doc_count: 3 },
                ],
              },
              sample: {
                hits: {
                  hits: [
                    {
                      _source: {
                        trace: { id: '4bf92f3577b34da6a3ce929d0e0e4736' },
                        error: { message: 'injected fault for user 1332 (FAULT_USER_DIVISOR=666)' },
                        log: { level: 'error' },
                        http: { response: { status_code: 500 } },
                      },
                    },
                  ],
                },
              },
            },
            {
              key: '404 model_not_found /reco/:model_name/:user_id',
              doc_count: 4,
              users: { value: 2 },
              first_seen: { value: 1764086400000 },
              last_seen: { value: 1764086400000 },
              sample: { hits: { hits: [{ _source: { 'log.level': 'warn', 'error.message': 'Model x not found' } }] } },
            },
          ],
        },
      },
    };
    const result = parseErrorGroups(response);
    assert.equal(result.total, 13);
    assert.deepEqual(result.groups[0], {
      key: '500 InjectedFaultError at <anonymous> (src/models/fault-injection.ts)',
      level: 'error',
      count: 9,
      users: 4,
      firstSeen: '2025-11-25T16:00:00.000Z',
      lastSeen: '2025-11-25T16:01:00.000Z',
      sampleTraceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      sampleMessage: 'injected fault for user 1332 (FAULT_USER_DIVISOR=666)',
      sampleStatus: 500,
      versions: [
        { version: '20261201T231820123Z-3f9c2a1b', count: 6 },
        { version: '20261202T080000000Z-3f9c2a1b', count: 3 },
      ],
    });
    assert.deepEqual(result.groups[1]?.versions, [], 'a response without the split (an older search) reads as none');
    assert.equal(result.groups[1]?.level, 'warn', 'flat dotted keys are read too');
    assert.equal(result.groups[1]?.firstSeen, '2025-11-25T16:00:00.000Z', 'epoch millis without value_as_string');
    assert.equal(result.groups[1]?.sampleTraceId, undefined);
    const table = formatErrorGroups(result).split('\n');
    assert.equal(table.length, 3);
    assert.match(table[0] ?? '', /^KEY\s+LEVEL\s+COUNT\s+USERS\s+FIRST SEEN\s+LAST SEEN\s+BY MODEL VERSION\s+SAMPLE TRACE\s+SAMPLE MESSAGE$/);
    assert.match(table[1] ?? '', /^500 InjectedFaultError .* error\s+9\s+4\s+2025-11-25T16:00:00.000Z .* 20261201T231820123Z-3f9c2a1b:6 20261202T080000000Z-3f9c2a1b:3 /);
  });

  it('no failures: no rows, total 0', () => {
    const result = parseErrorGroups({ hits: { total: { value: 0 } }, aggregations: { groups: { buckets: [] } } });
    assert.deepEqual(result, { total: 0, groups: [] });
  });
});
