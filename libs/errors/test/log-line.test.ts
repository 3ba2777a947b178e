import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createStderrLogger, formatLogLine, LEVELS } from '../src/log-line.ts';

describe('the default log line', () => {
  it("is pino's: numeric level, time in ms, pid, hostname, name, the fields, msg last", () => {
    const line = formatLogLine(
      'warn',
      'tether-pooling',
      { dependency: 'postgres' },
      'pool error',
      1_700_000_000_000,
    );
    expect(line.endsWith('\n')).toBe(true);
    expect(Object.entries(JSON.parse(line))).toEqual([
      ['level', 40],
      ['time', 1_700_000_000_000],
      ['pid', process.pid],
      ['hostname', hostname()],
      ['name', 'tether-pooling'],
      ['dependency', 'postgres'],
      ['msg', 'pool error'],
    ]);
  });

  it('lets no field overwrite level, time or msg', () => {
    const parsed = JSON.parse(
      formatLogLine('error', 'x', { level: 'oops', time: 'never', msg: 'forged' }, 'real', 5),
    );
    expect(parsed).toMatchObject({ level: LEVELS.error, time: 5, msg: 'real' });
  });

  it('writes only from its minimum level up', () => {
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
    try {
      const logger = createStderrLogger('tether-test', 'warn');
      logger.info({}, 'dropped');
      logger.warn({ a: 1 }, 'kept');
    } finally {
      process.stderr.write = original;
    }
    expect(written.map((l) => JSON.parse(l) as { msg: string; level: number })).toMatchObject([
      { msg: 'kept', level: 40 },
    ]);
  });
});
