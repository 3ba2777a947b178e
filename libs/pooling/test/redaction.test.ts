import { redactText } from '@tether/redact';
import { describe, expect, it } from 'vitest';
import { describeForLog, Redactor } from '../src/logger.ts';
import { CaptureLogger } from './capture-logger.ts';

// A driver message with every kind of credential the shared rule knows, next to look-alike keys
// that must stay readable, plus the pool's own password in free text with no key word before it.
const knownPassword = 'c0rrect-h0rse';
const leaky =
  'upstream said: max_tokens=5 passed=true dbPassword=hunter2 x-api-key: k-123456 ' +
  `url=postgres://app:s3cret@db:5432/app Authorization: Bearer abc.def.ghi; retried with ${knownPassword}`;

describe('pooling log lines use the shared @tether/redact rule', () => {
  it('masks dbPassword, x-api-key, a URL password, a bearer token and the known password; keeps max_tokens', () => {
    const redactor = new Redactor();
    redactor.add(knownPassword);
    const logger = new CaptureLogger();
    const error = Object.assign(new Error(leaky), { code: 'ECONNRESET' });
    logger.warn({ pool: 'db', error: describeForLog(error, redactor) }, 'connection failed');

    const line = logger.text;
    for (const secret of ['hunter2', 'k-123456', 's3cret', 'abc.def.ghi', knownPassword])
      expect(line).not.toContain(secret);
    const logged = JSON.parse(line) as { error: { code: string; name: string; message: string } };
    expect(logged.error.code).toBe('ECONNRESET');
    expect(logged.error.message).toContain('max_tokens=5');
    expect(logged.error.message).toContain('passed=true');
    expect(logged.error.message).toContain('dbPassword=***');
    expect(logged.error.message).toContain('x-api-key: ***');
    expect(logged.error.message).toContain('postgres://***@db:5432/app');
    expect(logged.error.message).toContain('Authorization: Bearer ***');
    expect(logged.error.message).toMatch(/retried with \*\*\*$/);
    // Exactly the shared rule, then the known password on top of it.
    expect(logged.error.message).toBe(redactText(leaky).replaceAll(knownPassword, '***'));
  });

  it('control: without the known password, the shared rule alone leaves it readable', () => {
    // The key-word rule cannot see a password that no key names; the pool's own list is what hides it.
    expect(describeForLog(new Error(leaky), new Redactor()).message).toContain(knownPassword);
  });

  it('redacts non-Error values the same way', () => {
    const redactor = new Redactor();
    redactor.add(knownPassword);
    expect(describeForLog(leaky, redactor)).toEqual({
      name: 'string',
      message: redactText(leaky).replaceAll(knownPassword, '***'),
    });
  });
});
