import { describe, expect, it } from 'vitest';
import {
  booleanOption,
  describeValue,
  functionOption,
  integerFromEnv,
  methodsOption,
  numberOption,
  objectOption,
  oneOfOption,
  rejectUnknownKeys,
  requiredStringOption,
  secretOption,
  stringOption,
  TetherInvalidOptionError,
} from '../src/index.ts';

/** The message of what `fn` throws, checked to be the shared option error naming `field`. */
function messageOf(fn: () => unknown, field: string): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TetherInvalidOptionError);
    expect(error).toMatchObject({ code: 'TETHER_INVALID_OPTION', field, retryable: false });
    return (error as Error).message;
  }
  throw new Error('expected a TetherInvalidOptionError');
}

describe('option validators', () => {
  it('return the value, or the fallback when the option is undefined', () => {
    expect(numberOption('max', undefined, 10, { min: 1 })).toBe(10);
    expect(numberOption('max', 3, 10, { min: 1, integer: true })).toBe(3);
    expect(booleanOption('tls', undefined, true)).toBe(true);
    expect(stringOption('name', undefined)).toBeUndefined();
    expect(oneOfOption('mode', 'b', 'a', ['a', 'b'])).toBe('b');
    expect(functionOption('now', undefined, Date.now)).toBe(Date.now);
    expect(integerFromEnv({ PORT: ' 8080 ' }, 'PORT', 1, { min: 1 })).toBe(8080);
    expect(integerFromEnv({ PORT: '' }, 'PORT', 7, { min: 1 })).toBe(7);
  });

  it('word every refusal as "<field> <problem>, got <value>"', () => {
    expect(messageOf(() => numberOption('max', 0, 10, { min: 1, integer: true }), 'max')).toBe(
      'max must be an integer >= 1, got 0',
    );
    expect(messageOf(() => numberOption('ratio', '5', 1, { min: 0, max: 1 }), 'ratio')).toBe(
      'ratio must be a number between 0 and 1, got "5"',
    );
    expect(messageOf(() => numberOption('delay', Number.NaN, 1, {}), 'delay')).toBe(
      'delay must be a finite number, got NaN',
    );
    expect(messageOf(() => booleanOption('tls', 'yes', false), 'tls')).toBe(
      'tls must be true or false, got "yes"',
    );
    expect(messageOf(() => stringOption('host', ' '), 'host')).toBe(
      'host must be a non-empty string, got " "',
    );
    expect(messageOf(() => requiredStringOption('name', undefined), 'name')).toBe('name is required');
    expect(messageOf(() => oneOfOption('mode', 'c', 'a', ['a', 'b', 'd'], ' (see docs)'), 'mode')).toBe(
      'mode must be one of "a", "b", "d" (see docs), got "c"',
    );
    expect(messageOf(() => oneOfOption('tokenIn', 5, 'header', ['header', 'query']), 'tokenIn')).toBe(
      'tokenIn must be either "header" or "query", got 5',
    );
    expect(messageOf(() => functionOption('now', 5, Date.now), 'now')).toBe('now must be a function, got 5');
    expect(messageOf(() => objectOption('retry', []), 'retry')).toBe('retry must be an object, got an array');
    expect(messageOf(() => methodsOption('logger', {}, ['info', 'warn', 'error']), 'logger')).toBe(
      'logger must have info(), warn() and error() methods, got an object',
    );
    expect(
      messageOf(() => rejectUnknownKeys('retry', { maxAttemps: 1 }, ['maxAttempts']), 'retry.maxAttemps'),
    ).toBe('retry.maxAttemps is not a known option');
    expect(messageOf(() => integerFromEnv({ PORT: '80x' }, 'PORT', 1, { min: 1, max: 65535 }), 'PORT')).toBe(
      'PORT must be an integer between 1 and 65535, got "80x"',
    );
  });

  it('never show a secret, only its type', () => {
    const message = messageOf(() => secretOption('password', 12345678), 'password');
    expect(message).toBe('password must be a string, got a number');
    expect(
      new TetherInvalidOptionError('token', 'must be a JWT', { value: 'hunter2-hunter2', secret: true })
        .message,
    ).toBe('token must be a JWT, got a string');
  });

  it('describe values briefly', () => {
    expect(describeValue('x'.repeat(100))).toBe(`"${'x'.repeat(59)}…"`);
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(10n)).toBe('10n');
    expect(describeValue(Symbol('s'))).toBe('a symbol');
  });
});
