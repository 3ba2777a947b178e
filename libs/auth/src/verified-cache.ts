/**
 * Tokens already verified, so a client that sends the same bearer token on every request pays for
 * the signature check once, not per request (an HMAC through WebCrypto, or an RSA/EC verify, costs
 * more than the rest of a small API request together).
 *
 * What a hit may skip and what it may not: an entry lives at most `maxAgeMs` and never past the
 * token's own `exp`, so a cache hit never accepts a token that a fresh verification would reject
 * for expiry. Only successes are stored: a bad token is checked (and rejected) every time. With
 * JWKS, a token whose key was removed from the set stays accepted until its entry ages out — no
 * longer than jose's own key cache (`jwksCacheMaxAgeMs`) keeps that key anyway when `maxAgeMs` is
 * the shorter of the two (the default).
 *
 * Bounded: when full, the oldest entry goes (insertion order), so memory stays at most `maxEntries`
 * tokens whatever the traffic.
 */
export interface VerifiedCacheEntry<T> {
  value: T;
  /** Date.now() after which the entry is not used. */
  validUntil: number;
}

export class VerifiedTokenCache<T> {
  readonly #entries = new Map<string, VerifiedCacheEntry<T>>();
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;

  constructor(maxEntries: number, maxAgeMs: number) {
    this.#maxEntries = maxEntries;
    this.#maxAgeMs = maxAgeMs;
  }

  /** The value stored for `token`, unless absent or past its validity (then it is dropped). */
  get(token: string, now: number): T | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (now < entry.validUntil) return entry.value;
    this.#entries.delete(token);
    return undefined;
  }

  /** Stores a verified token's value until `min(now + maxAgeMs, expiresAt)` (`expiresAt` in ms, if any). */
  set(token: string, value: T, now: number, expiresAt: number | undefined): void {
    if (this.#maxEntries === 0) return;
    const validUntil = Math.min(now + this.#maxAgeMs, expiresAt ?? Number.POSITIVE_INFINITY);
    if (validUntil <= now) return;
    if (this.#entries.size >= this.#maxEntries && !this.#entries.has(token)) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, { value, validUntil });
  }

  get size(): number {
    return this.#entries.size;
  }
}
