import { afterAll, describe, expect, it } from 'vitest';
import { prepareCharts, render, renderError } from '../src/helm.ts';

const charts = prepareCharts();
afterAll(() => charts.remove());
const api = () => charts.path('api');
const umbrella = () => charts.path('tether');

describe('the lifecycle budget', () => {
  it('refuses a grace period below preStop + drain delay + shutdown timeout + margin, naming each value', () => {
    expect(renderError(api(), { set: { 'lifecycle.terminationGracePeriodSeconds': '29' } })).toContain(
      'lifecycle budget broken: lifecycle.terminationGracePeriodSeconds (29 s) must be >= lifecycle.preStopSleepSeconds (10 s) + lifecycle.drainDelayMs (0 ms) + lifecycle.shutdownTimeoutMs (15000 ms) + lifecycle.marginSeconds (5 s) = 30 s',
    );
  });

  it('renders the same values once the grace period covers them (control)', () => {
    expect(renderError(api(), { set: { 'lifecycle.terminationGracePeriodSeconds': '30' } })).toBeUndefined();
  });

  it('refuses a longer shutdown timeout than an explicit grace period allows, also through the umbrella', () => {
    const message = renderError(umbrella(), {
      set: {
        'ws-gateway.lifecycle.shutdownTimeoutMs': '60000',
        'ws-gateway.lifecycle.terminationGracePeriodSeconds': '45',
      },
    });
    expect(message).toContain('lifecycle.shutdownTimeoutMs (60000 ms)');
    expect(message).toContain('= 75 s');
  });

  it('counts a drain delay in the app and a preStop sleep both (they add up)', () => {
    expect(
      renderError(api(), {
        set: { 'lifecycle.drainDelayMs': '5000', 'lifecycle.terminationGracePeriodSeconds': '30' },
      }),
    ).toContain('lifecycle.drainDelayMs (5000 ms)');
  });
});

describe('values the chart refuses', () => {
  it('a missing image, with the --set to add', () => {
    expect(renderError(api(), { set: { 'image.repository': '' } })).toContain(
      'image.repository must not be empty: add --set image.repository=<registry>/<image> to the command',
    );
    expect(renderError(umbrella(), { set: { 'worker.image.repository': '' } })).toContain(
      'add --set worker.image.repository=<registry>/<image>',
    );
    expect(renderError(umbrella(), { set: { 'migrations.image.repository': '' } })).toContain(
      'migrations.image.repository must not be empty',
    );
  });

  it('an unknown key, at the top and nested, in an app chart and the umbrella', () => {
    expect(renderError(api(), { set: { replicaCont: '3' } })).toContain(
      "additional properties 'replicaCont' not allowed",
    );
    expect(renderError(api(), { set: { 'lifecycle.preStopSleep': '5' } })).toContain(
      "additional properties 'preStopSleep' not allowed",
    );
    expect(renderError(umbrella(), { set: { 'secret.create': 'true' } })).toContain(
      "additional properties 'secret' not allowed",
    );
    expect(renderError(umbrella(), { set: { 'api.replicaCont': '3' } })).toContain(
      "additional properties 'replicaCont' not allowed",
    );
  });

  it('a bad type or a value out of range', () => {
    expect(renderError(api(), { set: { replicaCount: 'two' } })).toMatch(
      /at '\/replicaCount': got string, want integer/,
    );
    expect(renderError(api(), { set: { 'lifecycle.shutdownTimeoutMs': '0' } })).toMatch(
      /at '\/lifecycle\/shutdownTimeoutMs': minimum: got 0, want 1/,
    );
    expect(renderError(api(), { set: { 'ports.admin': '70000' } })).toMatch(
      /at '\/ports\/admin': maximum: got 70,000, want 65,535/,
    );
    expect(renderError(api(), { set: { 'topologySpread.enabled': 'yes' } })).toMatch(
      /got string, want boolean/,
    );
  });

  it('a chart-made Secret without its DSNs, naming the value to set', () => {
    expect(renderError(umbrella(), { set: { 'secrets.create': 'true' } })).toContain(
      'secrets.databaseUrl must not be empty when secrets.create is true: add --set secrets.databaseUrl=<url>',
    );
    expect(
      renderError(umbrella(), {
        set: {
          'secrets.create': 'true',
          'secrets.databaseUrl': 'postgres://db/t',
          'secrets.redisUrl': 'redis://r',
        },
      }),
    ).toContain('secrets.authJwtSecret must be at least 32 characters');
  });

  it('renders the defaults and the values one step inside each rule (controls)', () => {
    expect(render(api()).length).toBeGreaterThan(0);
    expect(renderError(api(), { set: { 'ports.admin': '65535', replicaCount: '1' } })).toBeUndefined();
    expect(
      renderError(umbrella(), {
        set: {
          'secrets.create': 'true',
          'secrets.databaseUrl': 'postgres://db/t',
          'secrets.redisUrl': 'redis://r',
          'secrets.authJwtSecret': 'x'.repeat(32),
        },
      }),
    ).toBeUndefined();
  });
});
