import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import type * as ErrorsNamespace from '../src/index.ts';
import { isTetherError, TetherError, TetherInvalidOptionError } from '../src/index.ts';

type ErrorsModule = typeof ErrorsNamespace;

// A second, independent copy of the package's source, as a second version of @tether/errors in
// node_modules (or a bundle with its own copy) would be: its classes are different objects.
const copyDir = mkdtempSync(join(tmpdir(), 'tether-errors-copy-'));
cpSync(join(import.meta.dirname, '..', 'src'), copyDir, { recursive: true });
const secondCopy = (): Promise<ErrorsModule> => import(pathToFileURL(join(copyDir, 'index.ts')).href);

afterAll(() => rmSync(copyDir, { recursive: true, force: true }));

describe('TetherError', () => {
  it('carries code, retryable, cause (only when given) and its own class name', () => {
    const cause = new Error('socket hang up');
    const error = new TetherError('TETHER_TEST', 'it failed', { retryable: true, cause });
    expect(error).toMatchObject({ code: 'TETHER_TEST', retryable: true, cause, name: 'TetherError' });
    expect(Object.hasOwn(new TetherError('TETHER_TEST', 'x', { retryable: false }), 'cause')).toBe(false);
    class PoolGoneError extends TetherError {}
    expect(new PoolGoneError('TETHER_TEST', 'x', { retryable: false }).name).toBe('PoolGoneError');
  });

  it('keeps the brand off the instance: a log line shows code and retryable, nothing else', () => {
    const error = new TetherInvalidOptionError('max', 'must be an integer >= 1', { value: 0 });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'TETHER_INVALID_OPTION',
      retryable: false,
      field: 'max',
      name: 'TetherInvalidOptionError',
    });
    expect(Object.getOwnPropertySymbols(error)).toEqual([]);
  });
});

describe('isTetherError', () => {
  it('recognises every subclass and nothing else', () => {
    expect(isTetherError(new TetherInvalidOptionError('x', 'is required'))).toBe(true);
    expect(isTetherError(new Error('plain'))).toBe(false);
    expect(isTetherError(Object.assign(new Error('look-alike'), { code: 'TETHER_X', retryable: true }))).toBe(
      false,
    );
    for (const value of [undefined, null, 'TETHER_X', 42, {}]) expect(isTetherError(value)).toBe(false);
  });

  it('recognises errors of a second copy of the package, where instanceof does not', async () => {
    const copy = await secondCopy();
    expect(copy.TetherError).not.toBe(TetherError);
    const foreign = new copy.TetherInvalidOptionError('max', 'must be an integer >= 1', { value: 0 });
    expect(foreign instanceof TetherError).toBe(false);
    expect(isTetherError(foreign)).toBe(true);
    expect(copy.isTetherError(new TetherError('TETHER_TEST', 'x', { retryable: false }))).toBe(true);
    expect(copy.isTetherError(new Error('plain'))).toBe(false);
  });

  it('recognises an error made in another realm (vm context)', async () => {
    const copy = await secondCopy();
    const made = runInNewContext(
      "new TetherError('TETHER_TEST', 'from another realm', { retryable: true })",
      { TetherError: copy.TetherError },
    ) as unknown;
    expect(isTetherError(made)).toBe(true);
  });
});
