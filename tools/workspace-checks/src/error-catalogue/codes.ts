/**
 * The source of `docs/errors.md`: every `TETHER_*` code the libs and apps throw, who throws it,
 * whether it is retryable and what to do about it. `errors-catalogue.test.ts` fails when a code
 * thrown in source is missing here, when an entry names a code nobody throws, when an exported
 * error class disagrees with its entry, and when the generated page is stale. Which API problem type
 * answers a code is the API's to say: `codes` in apps/api/src/problems.ts.
 */
export interface CatalogueEntry {
  code: `TETHER_${string}`;
  /** Packages (or apps) that throw it. */
  thrownBy: string[];
  /** The error classes carrying it. */
  classes: string[];
  retryable: boolean;
  /** What happened. */
  meaning: string;
  /** What the caller or operator should do. */
  action: string;
}

export const CATALOGUE: CatalogueEntry[] = [
  {
    code: 'TETHER_INVALID_OPTION',
    thrownBy: [
      '@tether/auth',
      '@tether/outage',
      '@tether/pooling',
      '@tether/retry',
      '@tether/shutdown',
      '@tether/telemetry',
      '@tether/ws-client',
      'apps/worker',
      'apps/ws-gateway',
    ],
    classes: ['TetherInvalidOptionError'],
    retryable: false,
    meaning:
      'An option or environment variable has a bad value; `field` names it and the message reads ' +
      '`<field> <problem>, got <value>` (secrets shown by type only). Thrown at construction or start-up.',
    action:
      'Fix the value named by `field` (chart values, env var or code) and restart. Retrying cannot help.',
  },
  {
    code: 'TETHER_CONFIG_INVALID',
    thrownBy: ['@tether/config'],
    classes: ['ConfigError'],
    retryable: false,
    meaning:
      'The runtime environment (`DATABASE_URL`, `PORT`, `AUTH_*`, …) is invalid; `variables` lists every ' +
      'wrong variable at once, values never shown.',
    action: 'Fix every variable listed in `variables`, then restart the pod.',
  },
  {
    code: 'TETHER_RETRY_EXHAUSTED',
    thrownBy: ['@tether/retry', '@tether/pooling'],
    classes: ['RetryExhaustedError'],
    retryable: true,
    meaning: 'The operation still failed after `maxAttempts` attempts; `cause` is the last error.',
    action:
      'Fail the request (503 + `Retry-After`); do not retry again in a layer above (retry amplification). ' +
      'Look at `cause` and the outage spans for the dependency.',
  },
  {
    code: 'TETHER_DEADLINE_EXCEEDED',
    thrownBy: ['@tether/retry', '@tether/pooling'],
    classes: ['DeadlineExceededError'],
    retryable: true,
    meaning: "The call's deadline passed, retries included; `cause` is the last attempt's error.",
    action:
      'Fail the request (503); raise `deadlineMs` only if the dependency is known to be slow, not down.',
  },
  {
    code: 'TETHER_RETRY_BUDGET_EXHAUSTED',
    thrownBy: ['@tether/retry', '@tether/pooling'],
    classes: ['RetryBudgetExhaustedError'],
    retryable: false,
    meaning:
      "The dependency's retry budget is spent: retrying now would multiply the load on a failing dependency.",
    action: 'Fail the request (503) instead of looping; the budget refills as calls succeed.',
  },
  {
    code: 'TETHER_BREAKER_OPEN',
    thrownBy: ['@tether/retry', '@tether/pooling'],
    classes: ['BreakerOpenError'],
    retryable: true,
    meaning: "The dependency's circuit breaker is open: the call failed fast, nothing was sent.",
    action: 'Answer 503 with `Retry-After`; the breaker probes again after `halfOpenAfterMs`.',
  },
  {
    code: 'TETHER_POOL_DRAINING',
    thrownBy: ['@tether/pooling'],
    classes: ['PoolDrainingError'],
    retryable: false,
    meaning: 'The pool or Redis client is draining (shutdown started): new work is refused at once.',
    action:
      'Answer 503; another replica takes the request. Seen outside a shutdown, it is a bug in the caller.',
  },
  {
    code: 'TETHER_PG_COMMIT_OUTCOME_UNKNOWN',
    thrownBy: ['@tether/pooling'],
    classes: ['CommitOutcomeUnknownError'],
    retryable: false,
    meaning:
      'The connection failed or the deadline passed while COMMIT was in flight: it may ' +
      'or may not have applied.',
    action:
      'Never retry blindly: look the row up (by its id or idempotency key) to learn whether it committed.',
  },
  {
    code: 'TETHER_PG_TRANSACTION_ROLLED_BACK',
    thrownBy: ['@tether/pooling'],
    classes: ['TransactionRolledBackError'],
    retryable: false,
    meaning: 'A statement failed inside `transaction()` and the callback went on: nothing was applied.',
    action: "Let the statement error (`cause`) propagate from the callback, or handle it; don't swallow it.",
  },
  {
    code: 'TETHER_PG_PGBOUNCER_UNSUPPORTED',
    thrownBy: ['@tether/pooling'],
    classes: ['PgBouncerUnsupportedError'],
    retryable: false,
    meaning:
      'A feature that cannot work through PgBouncer transaction pooling (a named ' +
      'prepared statement) was used.',
    action: 'Drop the feature from the call, or connect without PgBouncer (`pgbouncer: false`).',
  },
  {
    code: 'TETHER_REDIS_CONNECTION_LOST',
    thrownBy: ['@tether/pooling'],
    classes: ['RedisConnectionLostError'],
    retryable: true,
    meaning: 'The Redis connection closed with this command in flight: it may have run.',
    action:
      'Retry only idempotent commands (`execute(..., { idempotent: true })`); check ' +
      'before re-running others.',
  },
  {
    code: 'TETHER_REDIS_OFFLINE_QUEUE_FULL',
    thrownBy: ['@tether/pooling'],
    classes: ['RedisOfflineQueueFullError'],
    retryable: true,
    meaning: 'Worker profile, disconnected, and `offlineQueueLimit` commands already wait: nothing was sent.',
    action: 'Back off and retry; raise `offlineQueueLimit` only if the outage is short and memory allows.',
  },
  {
    code: 'TETHER_REDIS_COMMAND_ABANDONED',
    thrownBy: ['@tether/pooling'],
    classes: ['RedisCommandAbandonedError'],
    retryable: false,
    meaning:
      "The call's deadline passed while the command still waited in the offline queue: it was never sent.",
    action:
      'Nothing: the caller already got its `TETHER_DEADLINE_EXCEEDED`; this settles the queued command.',
  },
  {
    code: 'TETHER_LIFECYCLE_BUDGET',
    thrownBy: ['@tether/shutdown'],
    classes: ['LifecycleBudgetError'],
    retryable: false,
    meaning:
      'terminationGracePeriodSeconds is shorter than preStop sleep + drain delay + shutdown timeout ' +
      '+ margin: the kubelet would SIGKILL the pod mid-drain.',
    action:
      'Raise the grace period or lower the drain delay / shutdown timeout (`requiredMs`, `availableMs`).',
  },
  {
    code: 'TETHER_TELEMETRY_ALREADY_STARTED',
    thrownBy: ['@tether/telemetry'],
    classes: ['TelemetryAlreadyStartedError'],
    retryable: false,
    meaning:
      '`startTelemetry()` was called while an earlier instance still runs (the SDK is process-global).',
    action: 'Start telemetry once per process, or `shutdown()` the running instance first.',
  },
  {
    code: 'TETHER_JOBS_IDEMPOTENCY_KEY_REUSED',
    thrownBy: ['@tether/jobs'],
    classes: ['IdempotencyKeyReusedError'],
    retryable: false,
    meaning:
      'The Idempotency-Key was already used by this owner for a different request (`jobId` is its job).',
    action: 'Use a new key for a new request; resend the original body to get the original job.',
  },
  {
    code: 'TETHER_JOBS_INVALID_CURSOR',
    thrownBy: ['@tether/jobs'],
    classes: ['InvalidCursorError'],
    retryable: false,
    meaning: 'A pagination cursor this lib did not produce.',
    action: 'Pass back a `nextCursor` exactly as returned, or start from the first page.',
  },
  {
    code: 'TETHER_JOBS_INVALID_INPUT',
    thrownBy: ['@tether/jobs'],
    classes: ['JobsInputError'],
    retryable: false,
    meaning:
      "A wrong argument to one of the lib's functions (a request value, not configuration); " +
      'the message starts with the field.',
    action: 'Validate the request before calling (apps/api answers 400/422 from its schema first).',
  },
  {
    code: 'TETHER_JOBS_NOT_FOUND',
    thrownBy: ['@tether/jobs'],
    classes: ['JobNotFoundError'],
    retryable: false,
    meaning: 'The job does not exist (or is not visible to this owner) where the caller required it.',
    action: 'Answer 404; never reveal whether someone else owns it.',
  },
  {
    code: 'TETHER_AUTH_TOKEN_REJECTED',
    thrownBy: ['@tether/auth'],
    classes: ['TokenRejectedError'],
    retryable: false,
    meaning:
      'The bearer token is missing, malformed, expired, wrongly signed or has no `sub` ' +
      '(`reason` says which).',
    action: 'Answer 401 (close 4401 on a WebSocket); the client refreshes its token.',
  },
  {
    code: 'TETHER_AUTH_KEYS_UNAVAILABLE',
    thrownBy: ['@tether/auth'],
    classes: ['TokenKeysUnavailableError'],
    retryable: true,
    meaning: 'The JWKS signing keys could not be fetched, so the token could not be checked.',
    action: 'Answer 503 (the client did nothing wrong); check the JWKS endpoint (`AUTH_JWKS_URL`).',
  },
  {
    code: 'TETHER_WS_AUTH_FAILED',
    thrownBy: ['@tether/ws-client'],
    classes: ['WsAuthError'],
    retryable: false,
    meaning: 'The gateway refused the credentials (HTTP 401/403 on upgrade, or close 4401/4403).',
    action: 'Fix the token or its refresh, then create a new client; the client stops instead of hammering.',
  },
  {
    code: 'TETHER_WS_REJECTED',
    thrownBy: ['@tether/ws-client'],
    classes: ['WsRejectedError'],
    retryable: false,
    meaning: 'The upgrade was answered with an HTTP status no retry can fix (404 wrong path, 400, …).',
    action: 'Fix the URL or the request; 5xx, 408 and 429 are retried by the client and never end up here.',
  },
  {
    code: 'TETHER_WS_CONNECTION_LOST',
    thrownBy: ['@tether/ws-client'],
    classes: ['WsConnectionError'],
    retryable: true,
    meaning: 'One connection ended unexpectedly (refused, 1006, reset, handshake timeout).',
    action:
      'Nothing: the client reconnects with backoff and resumes; listen to `disconnected` for visibility.',
  },
  {
    code: 'TETHER_WS_HEARTBEAT_TIMEOUT',
    thrownBy: ['@tether/ws-client'],
    classes: ['WsHeartbeatTimeoutError'],
    retryable: true,
    meaning:
      'No pong within `pongTimeoutMs` of a ping: the peer or the path is dead (a blackholed NAT entry).',
    action: 'Nothing: the client replaces the connection; frequent ones point at the network path.',
  },
  {
    code: 'TETHER_WS_CLIENT_CLOSED',
    thrownBy: ['@tether/ws-client'],
    classes: ['WsClientClosedError'],
    retryable: false,
    meaning: '`subscribe()` or `unsubscribe()` after `close()`.',
    action: 'Create a new client; a closed one stays closed.',
  },
  {
    code: 'TETHER_WS_TOKEN_TIMEOUT',
    thrownBy: ['@tether/ws-client'],
    classes: ['WsTokenTimeoutError'],
    retryable: true,
    meaning: 'The token function did not settle within `tokenTimeoutMs` (a hung identity provider).',
    action: 'Nothing: the attempt counts as a failure and the function is called afresh after the backoff.',
  },
  {
    code: 'TETHER_JOB_TRANSIENT',
    thrownBy: ['apps/worker'],
    classes: ['TransientJobError'],
    retryable: true,
    meaning: 'A job handler says its failure is temporary.',
    action:
      'Nothing: the worker retries the job with backoff up to `WORKER_MAX_ATTEMPTS`, then marks it `failed`.',
  },
  {
    code: 'TETHER_JOB_PERMANENT',
    thrownBy: ['apps/worker'],
    classes: ['PermanentJobError'],
    retryable: false,
    meaning: 'A job handler says no retry can fix its failure.',
    action: 'The job ends `failed` at once with the message; fix the input or the handler.',
  },
];
