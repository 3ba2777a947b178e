/**
 * What a benchmark ran on, recorded with every report: absolute numbers mean little without the
 * machine and how busy it was (the load average is sampled when the report is written).
 */
import { arch, availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { benchScale } from './scale.ts';

export interface HostEnvironment {
  /** logical CPUs available to this process */
  cpus: number;
  cpuModel: string;
  /** 1, 5 and 15 minute load averages when the report was written */
  loadavg: [number, number, number];
  platform: string;
  totalMemMiB: number;
  node: string;
  /** `BENCH_SCALE`: a quick run's numbers mean nothing */
  scale: 'quick' | 'full';
}

export function hostEnvironment(): HostEnvironment {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    loadavg: [one, five, fifteen].map((l) => Number(l.toFixed(2))) as [number, number, number],
    platform: `${platform()} ${release()} ${arch()}`,
    totalMemMiB: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    scale: benchScale(),
  };
}
