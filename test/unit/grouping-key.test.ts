/**
 * error.grouping_key: one group per kind of failure. The 5xx cases throw real errors through
 * the real fault injection and stages, so the stacks are V8's, not hand-written.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { appFile, groupingKey, parseStack, topAppFrame, UNROUTED } from '../../src/http/grouping-key';
import { withFaultInjection } from '../../src/models/fault-injection';
import { untracedStages } from '../../src/models/stages';
import type { Recommender } from '../../src/models/types';
import { ROUTES } from '../../src/contracts';
import { PROJECT_ROOT } from '../../src/paths';

const healthyModel: Recommender = {
  name: 'test',
  version: 'test-v1',
  recommend: () => ({ items: [1, 2, 3], coldStart: false, fallback: 0 }),
};

/** What recommend() threw for this user (fails the test when it did not throw). */
function thrownFor(model: Recommender, userId: number): Error {
  try {
    model.recommend(userId, 10, untracedStages);
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail(`user ${userId} did not fail`);
}

const key5xx = (error: Error) => groupingKey({ status: 500, key: 'server_error', error, route: ROUTES.reco });

describe('error.grouping_key', () => {
  const faulty = withFaultInjection(healthyModel, 666);

  it('the same fault from different users is one group', () => {
    const errors = [666, 1332, 666 * 1000].map((user) => thrownFor(faulty, user));
    // The messages differ (they name the user): the key must not.
    assert.equal(new Set(errors.map((e) => e.message)).size, 3);
    const keys = new Set(errors.map(key5xx));
    assert.equal(keys.size, 1, [...keys].join('\n'));
    const [key] = keys;
    assert.equal(key, '500 InjectedFaultError at <anonymous> (src/models/fault-injection.ts)');
    assert.doesNotMatch(String(key), /666|1332|:\d+/, 'no user id, no line numbers');
  });

  it('a fault thrown from another place in our code is another group, even with the same type', () => {
    class InjectedFaultError extends Error {
      override name = 'InjectedFaultError';
    }
    const elsewhere: Recommender = {
      name: 'elsewhere',
      version: 'elsewhere-v1',
      recommend() {
        throw new InjectedFaultError('same type, same message shape, another function');
      },
    };
    const a = key5xx(thrownFor(faulty, 666));
    const b = key5xx(thrownFor(elsewhere, 666));
    assert.notEqual(a, b);
    assert.equal(b, '500 InjectedFaultError at Object.recommend (test/unit/grouping-key.test.ts)');
  });

  it('another error type from the same place is another group', () => {
    const typeError: Recommender = {
      name: 'buggy',
      version: 'buggy-v1',
      recommend(userId) {
        const history = userId > 0 ? undefined : [1];
        return { items: history!.slice(), coldStart: false, fallback: 0 }; // a real TypeError
      },
    };
    const key = key5xx(thrownFor(typeError, 5));
    assert.match(key, /^500 TypeError at Object\.recommend \(test\/unit\/grouping-key\.test\.ts\)$/);
    assert.notEqual(key, key5xx(thrownFor(faulty, 666)));
  });

  it('4xx: error key + route template, never the id or the message', () => {
    const err = (message: string) => new Error(message);
    const userA = groupingKey({ status: 404, key: 'user_not_found', error: err('User 17 not found'), route: ROUTES.reco });
    const userB = groupingKey({ status: 404, key: 'user_not_found', error: err('User 99 not found'), route: ROUTES.reco });
    assert.equal(userA, userB);
    assert.equal(userA, '404 user_not_found /reco/:model_name/:user_id');
    const model = groupingKey({ status: 404, key: 'model_not_found', error: err('Model x not found'), route: ROUTES.reco });
    const auth = groupingKey({ status: 401, key: 'unauthorized', error: err('Missing or invalid bearer token'), route: ROUTES.reco });
    const invalid = groupingKey({ status: 422, key: 'validation_error', error: err('user_id must be …'), route: ROUTES.reco });
    const unrouted = groupingKey({ status: 404, key: 'http_exception', error: err('Not Found'), route: undefined });
    const method = groupingKey({ status: 405, key: 'http_exception', error: err('Method Not Allowed'), route: ROUTES.health });
    const keys = [userA, model, auth, invalid, unrouted, method];
    assert.equal(new Set(keys).size, keys.length, keys.join('\n'));
    assert.equal(unrouted, `404 http_exception ${UNROUTED}`);
    assert.equal(method, '405 http_exception /health');
  });

  it('frames: dist/*.js is named by its source, node_modules and node internals are not ours', () => {
    assert.equal(appFile(join(PROJECT_ROOT, 'dist', 'src', 'models', 'knn.js')), 'src/models/knn.ts');
    assert.equal(appFile(join(PROJECT_ROOT, 'src', 'models', 'knn.ts')), 'src/models/knn.ts');
    assert.equal(appFile(join(PROJECT_ROOT, 'node_modules', 'express', 'lib', 'router.js')), undefined);
    assert.equal(appFile('node:internal/process/task_queues'), undefined);
    assert.equal(appFile('/elsewhere/app.js'), undefined);
    const stack = [
      'TypeError: x is undefined',
      `    at Layer.handle (${PROJECT_ROOT}/node_modules/router/lib/layer.js:152:17)`,
      `    at async Object.score (file://${PROJECT_ROOT}/dist/src/models/knn.js:10:5)`,
      `    at ${PROJECT_ROOT}/dist/src/http/app.js:3:1`,
    ].join('\n');
    assert.deepEqual(parseStack(stack).map((f) => f.fn), ['Layer.handle', 'Object.score', '<anonymous>']);
    assert.equal(topAppFrame(stack), 'Object.score (src/models/knn.ts)');
    // No frame of ours: the package the top frame is in, without its version-specific path.
    assert.equal(topAppFrame(stack.split('\n').slice(0, 2).join('\n')), 'Layer.handle (router)');
    assert.equal(topAppFrame(undefined), '<no stack>');
    // The same code built in another checkout gives the same key.
    const moved = stack.split(PROJECT_ROOT).join('/srv/other-checkout');
    assert.equal(topAppFrame(moved, '/srv/other-checkout'), topAppFrame(stack));
  });
});
