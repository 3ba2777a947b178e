import { describeAppContract } from '@tether/devstack/app-contract';
import { expect } from 'vitest';
import { token } from './support.ts';

describeAppContract('api', {
  entry: new URL('../src/main.ts', import.meta.url).pathname,
  async whileRunning(app) {
    const base = `http://127.0.0.1:${app.port}`;
    const document = await fetch(`${base}/openapi.json`);
    expect(document.status).toBe(200);
    expect(((await document.json()) as { openapi: string }).openapi).toBe('3.1.0');
    // The contract's database was never migrated: the API still starts, and job routes answer a
    // fast 503 + Retry-After (not a 500, not a hang) until tether-migrate has run.
    const started = Date.now();
    const response = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await token('alice', { secret: 'a-dev-secret-of-at-least-32-characters' })}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ type: 'demo.sleep', payload: { ms: 1 } }),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(app.output()).toMatch(/schema not current/);
  },
});
