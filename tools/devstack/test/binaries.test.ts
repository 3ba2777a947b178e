import { describe, expect, it } from 'vitest';
import { DevstackError, findPostgres, findRedis } from '../src/index.ts';

describe('binary discovery', () => {
  it('finds initdb and postgres in one folder, and redis-server', () => {
    const pg = findPostgres();
    expect(pg.initdb.replace(/initdb$/, '')).toBe(pg.postgres.replace(/postgres$/, ''));
    expect(findRedis()).toMatch(/redis-server$/);
  });

  it('names the packages to install when binaries are missing', () => {
    const pgError = (() => {
      try {
        findPostgres(['/nonexistent/bin']);
      } catch (error) {
        return error;
      }
    })();
    expect(pgError).toBeInstanceOf(DevstackError);
    expect(pgError).toMatchObject({ code: 'TETHER_DEVSTACK_MISSING_BINARY' });
    expect((pgError as Error).message).toMatch(/apt-get install postgresql/);
    expect((pgError as Error).message).toMatch(/brew install postgresql/);
    expect(() => findRedis(['/nonexistent/redis-server'])).toThrow(
      /apt-get install redis-server.*brew install redis/,
    );
  });
});
