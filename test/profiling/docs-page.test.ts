/**
 * /docs renders in a real browser: Swagger UI from node_modules shows the service's OpenAPI
 * document under the page's Content-Security-Policy, with no console error, no CSP violation
 * and no request to another origin. In this tier because it needs headless Chromium (Debian's
 * `chromium`, as the flamegraph pages' test does).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { startService, type RunningService } from '../helpers/service';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('/docs in headless Chromium', () => {
  let service: RunningService;
  before(async () => {
    service = await startService({ env: { API_KEY: 'docs-page-test-key-0123456789' } });
  });
  after(async () => {
    await service.stop();
  });

  it('Swagger UI renders every operation of /openapi.json, CSP-clean, nothing from another origin', async () => {
    assert.ok(existsSync(CHROMIUM), `headless Chromium at ${CHROMIUM} (apt-get install chromium)`);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const origins = new Set<string>();
      page.on('console', (message) => {
        if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('request', (request) => {
        if (!request.url().startsWith('data:')) origins.add(new URL(request.url()).origin);
      });
      await page.goto(`${service.url}/docs`);
      await page.waitForSelector('.swagger-ui .info .title', { timeout: 30_000 });
      await page.waitForSelector('.opblock-summary-path', { timeout: 30_000 });
      const title = await page.evaluate<string>(`document.querySelector('.swagger-ui .info .title').textContent`);
      assert.match(title, /recoscope/);
      const paths = await page.evaluate<string[]>(
        `Array.from(document.querySelectorAll('.opblock-summary-path')).map((e) => e.textContent.replace(/\\u200b/g, ''))`,
      );
      // Every operation of the document the service serves, so a new route cannot go unrendered.
      const documented = Object.keys(((await (await fetch(`${service.url}/openapi.json`)).json()) as { paths: Record<string, unknown> }).paths);
      assert.ok(documented.includes('/reco/{model_name}/{user_id}'), `the document lists the reco route (${documented.join(', ')})`);
      assert.deepEqual([...new Set(paths)].sort(), [...documented].sort());
      const authorize = await page.evaluate<number>(`document.querySelectorAll('.btn.authorize').length`);
      assert.ok(authorize >= 1, 'the bearer scheme shows an Authorize button');
      assert.deepEqual(problems, []);
      assert.deepEqual([...origins], [new URL(service.url).origin], 'every request went to the service itself');
    } finally {
      await browser.close();
    }
  });
});
