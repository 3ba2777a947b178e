import { describe, expect, it } from 'vitest';
import { chartPreStopMs } from '../src/stack.ts';

describe('the rolling restart follows the charts', () => {
  it("reads each chart's lifecycle.preStopSleepSeconds from its values.yaml", () => {
    // charts/api and charts/ws-gateway sleep 10 s in preStop (endpoint removal propagating); the
    // worker takes no traffic through a Service and sleeps 0.
    expect(chartPreStopMs('api')).toBe(10_000);
    expect(chartPreStopMs('wsGateway')).toBe(10_000);
    expect(chartPreStopMs('worker')).toBe(0);
  });
});
