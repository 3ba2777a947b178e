/**
 * From a measured idle timeout to settings: the pooling options (and the lifecycle they protect)
 * that keep connections on this path alive, or retire them before the path forgets them.
 */
import type { ProbeResult } from './probe.ts';

export interface Recommendation {
  /** Where it goes: a @tether/pooling option (pg / Redis) or a general setting. */
  setting: string;
  value: string;
  why: string;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

export function recommend(result: ProbeResult): Recommendation[] {
  const { longestSurvivedMs: survived, shortestDiedMs: died, keepAlive } = result;
  if (died === undefined) {
    return [
      {
        setting: 'keepalive (pg keepAliveInitialDelayMs, Redis keepAliveMs)',
        value: 'keep the defaults',
        why: `no idle timeout up to ${seconds(survived)} on this path; keepalive still guards against paths that change (failover, new NAT)`,
      },
    ];
  }
  const keepAliveMs = Math.max(1_000, Math.floor(survived / 2 / 1_000) * 1_000);
  const idleMs = Math.max(1_000, Math.floor((survived * 0.8) / 1_000) * 1_000);
  const list: Recommendation[] = [
    {
      setting: 'pg keepAliveInitialDelayMs, Redis keepAliveMs',
      value: `<= ${keepAliveMs}`,
      why: `the path forgot flows idle ${seconds(died)} (kept ${seconds(survived)}); probes at half that keep the mapping fresh, and a dead peer is noticed about 10 s after the delay`,
    },
    {
      setting: 'pg idleTimeoutMs',
      value: `<= ${idleMs}`,
      why: 'a pooled connection that keepalive could not keep is retired before the path forgets it',
    },
    {
      setting: 'outbound HTTP keep-alive (agents, fetch) on this path',
      value: `< ${seconds(survived)}`,
      why: 'a reused idle HTTP connection the path forgot hangs or resets the next request',
    },
    {
      setting: 'pg maxLifetimeMs',
      value: 'keep the default (with jitter)',
      why: 'an idle timeout says nothing about hard caps on connection age; the probe cannot see those',
    },
  ];
  if (keepAlive.outcome !== 'ok' && keepAlive.delayMs < died) {
    list.push({
      setting: 'pg validateIdleAfterMs',
      value: `<= ${idleMs}`,
      why: `TCP keepalive every ${seconds(keepAlive.delayMs)} did not keep this path open: it ignores keepalive probes, so validate idle connections before use`,
    });
  }
  return list;
}
