/**
 * The dev console against a real started stack (Postgres, Redis, migrations, the three apps, the
 * trace sink), driven in headless Chromium: a demo job created on the page shows its progress bar
 * reaching 100 % and every event once, in order, through @tether/ws-client's browser bundle; a real
 * Redis restart appears on the outage timeline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromiumLaunchOptions, EphemeralRedis } from '../src/index.ts';
import { LocalStack, type StackDescription } from '../src/stack.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'tether-console-test-'));
const lines: string[] = [];
let redis: EphemeralRedis;
let stack: LocalStack;
let description: StackDescription;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  // The test owns Redis (the stack reuses it through REDIS_URL) so it can restart it for real.
  redis = await EphemeralRedis.start();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: redis.url,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  stack = new LocalStack({ freePorts: true, stateDir, env, log: (line) => lines.push(line) });
  description = await stack.up().catch((error: Error) => {
    throw new Error(`${error.message}\n${lines.join('\n')}`);
  });
  browser = await chromium.launch(chromiumLaunchOptions);
  page = await browser.newPage();
  await page.goto(description.console);
  await page.waitForSelector('#connection[data-state="open"]', { timeout: 20_000 });
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await stack?.down();
  await redis?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

it('is in stack.json and served on loopback', () => {
  expect(description.console).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

it('creates a demo job and shows its progress bar reach 100 % and every event once, in order', async () => {
  await page.fill('input[name="steps"]', '5');
  await page.fill('input[name="ms"]', '1000');
  await page.click('button[type="submit"]');
  const job = page.locator('.job').first();
  await job.locator('[data-type="succeeded"]').waitFor({ timeout: 30_000 });
  expect(await job.getAttribute('data-percent')).toBe('100');
  const events = await job
    .locator('li[data-id]')
    .evaluateAll((items) => items.map((li) => [li.getAttribute('data-id'), li.getAttribute('data-type')]));
  // queued, running, 5 progress reports, succeeded: ids 1..8, each once.
  expect(events).toEqual([
    ['1', 'queued'],
    ['2', 'running'],
    ['3', 'progress'],
    ['4', 'progress'],
    ['5', 'progress'],
    ['6', 'progress'],
    ['7', 'progress'],
    ['8', 'succeeded'],
  ]);
  // The page's record agrees with the API's.
  const jobId = await job.getAttribute('data-job-id');
  const api = await fetch(`${description.api}/v1/jobs/${jobId}`, {
    headers: { authorization: `Bearer ${description.token}` },
  });
  expect(await api.json()).toMatchObject({ status: 'succeeded', lastEventId: '8' });
});

it('shows a Redis outage on the timeline after Redis is restarted', async () => {
  const before = await page.locator('li.outage').count();
  expect(before).toBe(0);
  await redis.restart(1_000);
  // The apps' outage spans end when they reconnect and reach the sink; the page polls every 2 s.
  const outage = page.locator('li.outage[data-dependency^="redis"]').first();
  await outage.waitFor({ timeout: 30_000 });
  expect(await outage.textContent()).toMatch(/redis.*recovered/);
  expect(await page.locator('#timeline .lane .track > div').count()).toBeGreaterThan(0);
});
