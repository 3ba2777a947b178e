/**
 * THE list of words that make a key secret, for every Tether lib: logs, spans, config errors and
 * outage descriptions all ask `isSecretKey`. A key is split into words (camelCase, snake_case,
 * kebab-case, dots, digits) and matches when one of its words, or two adjacent words, is listed:
 * `dbPassword`, `db_password`, `x-api-key`, `AUTH_JWT_SECRET`, `accessToken` are secret;
 * `passed`, `max_tokens`, `compass`, `tokenizer`, `keyspace` are not (a substring test, the usual
 * shortcut, redacts those and so teaches people to ignore redaction).
 */
export const SECRET_WORDS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'sslpassword',
  'secret',
  'token',
  'apikey',
  'authorization',
  'cookie',
  'credential',
  'credentials',
  'privatekey',
  'dsn',
  'connectionstring',
  'signature',
];

/** Two adjacent words that together name a secret (`api_key`, `privateKey`, `connection-string`). */
export const SECRET_WORD_PAIRS: readonly (readonly [string, string])[] = [
  ['api', 'key'],
  ['private', 'key'],
  ['access', 'key'],
  ['secret', 'key'],
  ['connection', 'string'],
  ['client', 'secret'],
];

/**
 * Words that are secret only as the whole key: `{ user, pass }` (nodemailer, ioredis options) is a
 * password, but `passThrough` or `passCount` are not.
 */
export const SECRET_WHOLE_KEYS: readonly string[] = ['pass', 'pw'];

const words = new Set(SECRET_WORDS);
const wholeKeys = new Set(SECRET_WHOLE_KEYS);
const pairs = new Set(SECRET_WORD_PAIRS.map(([a, b]) => `${a} ${b}`));

/**
 * `dbPassword` -> [db, password]; `DBPassword` -> [db, password]; `x-api-key` -> [x, api, key];
 * `password2` -> [password, 2]. Lower-cased.
 */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([A-Za-z])([0-9])|([0-9])([A-Za-z])/g, '$1$3 $2$4')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

function matches(key: string): boolean {
  const parts = keyWords(key);
  if (parts.length === 1 && wholeKeys.has(parts[0] as string)) return true;
  for (let i = 0; i < parts.length; i++) {
    if (words.has(parts[i] as string)) return true;
    if (i > 0 && pairs.has(`${parts[i - 1]} ${parts[i]}`)) return true;
  }
  return false;
}

// Log lines and span attributes repeat a small set of keys: remember the answer. Bounded, because
// keys can come from data (a logged map of user ids); past the bound it is simply recomputed.
const cache = new Map<string, boolean>();
const cacheLimit = 4096;

/**
 * True when the key names a secret, by the list above, or is one of `extraKeys` (compared
 * lower-cased and whole, e.g. a `sessionId` an app wants hidden).
 */
export function isSecretKey(key: string, extraKeys?: ReadonlySet<string>): boolean {
  if (extraKeys !== undefined && extraKeys.size > 0 && extraKeys.has(key.toLowerCase())) return true;
  let secret = cache.get(key);
  if (secret === undefined) {
    secret = matches(key);
    if (cache.size < cacheLimit) cache.set(key, secret);
  }
  return secret;
}

/**
 * Query parameters that carry secrets in a URL although their names are too generic to redact as
 * object keys: `?key=` (Google API keys), `?code=` (OAuth authorization codes), `?sig=` (Azure SAS).
 */
export const URL_ONLY_SECRET_PARAMS: readonly string[] = ['key', 'code', 'sig'];

const urlOnly = new Set(URL_ONLY_SECRET_PARAMS);

/** True when a query parameter of this name holds a secret: `isSecretKey`, or a URL-only name. */
export function isSecretQueryParam(name: string): boolean {
  return urlOnly.has(name.toLowerCase()) || isSecretKey(name);
}

/**
 * The usual secret query parameters by exact name, for libraries that take a list instead of a
 * matcher (the OpenTelemetry http instrumentation's `redactedQueryParams`, which is case-sensitive).
 * Every name here is also flagged by `isSecretQueryParam` (tested).
 */
export const SECRET_QUERY_PARAMS: readonly string[] = [
  'access_token',
  'id_token',
  'refresh_token',
  'token',
  'api_key',
  'apikey',
  'apiKey',
  'password',
  'secret',
  'client_secret',
  'key',
  'code',
  'sig',
  'Signature',
  'AWSAccessKeyId',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'X-Goog-Signature',
];
