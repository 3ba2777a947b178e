import { describeAppContract } from '@tether/devstack/app-contract';
import { expect } from 'vitest';

describeAppContract('api (placeholder until its issue lands)', {
  entry: new URL('../src/main.ts', import.meta.url).pathname,
  async whileRunning(app) {
    const response = await fetch(`http://127.0.0.1:${app.port}/v1/jobs`);
    expect(response.status).toBe(501);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  },
});
