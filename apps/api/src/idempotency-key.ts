import { ProblemError } from './problems.ts';

// sf-string characters (RFC 8941) without the escapes we never need in a key.
const KEY = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,255}$/;

/**
 * The Idempotency-Key header's value. The IETF draft makes it a structured-field string (`"abc"`);
 * Stripe-style clients send the bare token. Both name the same key.
 */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header))
    throw new ProblemError('invalid-idempotency-key', 'send one Idempotency-Key header');
  const value =
    header.length >= 2 && header.startsWith('"') && header.endsWith('"') ? header.slice(1, -1) : header;
  if (!KEY.test(value) || value.trim() === '') {
    throw new ProblemError('invalid-idempotency-key', 'the key must be 1 to 255 printable ASCII characters');
  }
  return value;
}
