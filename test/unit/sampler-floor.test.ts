import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSamplerFloor } from '../../bench/probes/sampler-floor';

function burn(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) Math.sqrt(Math.random());
}

test("the v8 floor runs V8's CPU profiler at the rate asked: ~1 000 Hz takes hundreds of samples in 300 ms, not a handful", async () => {
  const floor = await startSamplerFloor('v8', 1000);
  burn(300);
  const samples = await floor.stop();
  assert.ok(samples > 20, `${samples} samples`);
});

test('the wake floor wakes a thread at the rate asked: 200 Hz wakes it ~60 times in 300 ms, not once', async () => {
  const floor = await startSamplerFloor('wake', 200);
  await new Promise((resolveWait) => setTimeout(resolveWait, 300));
  const wakes = await floor.stop();
  assert.ok(wakes >= 5 && wakes <= 100, `${wakes} wake-ups`);
});

test('a floor needs a positive rate', async () => {
  await assert.rejects(startSamplerFloor('wake', 0), /positive rate/);
});
