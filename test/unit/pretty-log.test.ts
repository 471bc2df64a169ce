/** The terminal's lines (LOG_FORMAT=auto on a TTY, or pretty): what a person reads instead of ECS JSON. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { prettyLine } from '../../src/observability/log-writer/pretty';

const access = JSON.stringify({
  '@timestamp': '2026-12-01T20:41:07.123Z',
  'log.level': 'warn',
  event: { id: 'x', dataset: 'recoscope.access', duration: 812345 },
  message: 'GET /reco/knn/abc 422 0.8ms',
  trace: { id: '4bf92f3577b34da6a3ce929d0e0e4736' },
  error: { type: 'validation_error', grouping_key: '422 validation_error /reco/:model_name/:user_id' },
});

describe('pretty log lines', () => {
  it('time, level, message and the key fields, no JSON', () => {
    assert.equal(
      prettyLine(access, false),
      '20:41:07.123 WARN  GET /reco/knn/abc 422 0.8ms  trace=4bf92f3577b34da6a3ce929d0e0e4736 error=validation_error group=422 validation_error /reco/:model_name/:user_id',
    );
  });

  it('colours the level only when asked', () => {
    const coloured = prettyLine(access, true);
    assert.ok(coloured.includes('\u001b[33mWARN \u001b[0m'), JSON.stringify(coloured));
    assert.ok(!prettyLine(access, false).includes('\u001b'));
  });

  it('an error shows its stack under the line', () => {
    const line = JSON.stringify({ '@timestamp': '2026-12-01T20:41:07.123Z', 'log.level': 'error', message: 'boom', error: { type: 'Error', stack_trace: 'Error: boom\n    at f (a.js:1:1)' } });
    assert.equal(prettyLine(line, false), '20:41:07.123 ERROR boom  error=Error\nError: boom\n    at f (a.js:1:1)');
  });

  it('a line that is not a JSON object is shown as it is', () => {
    assert.equal(prettyLine('not json', false), 'not json');
    assert.equal(prettyLine('42', false), '42');
  });

  it('LOG_FORMAT is auto by default, json or pretty when set, and nothing else', () => {
    assert.equal(loadConfig({}).log.format, 'auto');
    assert.equal(loadConfig({ LOG_FORMAT: 'json' }).log.format, 'json');
    assert.equal(loadConfig({ LOG_FORMAT: 'pretty' }).log.format, 'pretty');
    assert.throws(() => loadConfig({ LOG_FORMAT: 'yaml' }), /LOG_FORMAT: expected auto, json or pretty/);
  });
});
