import { TetherError } from '@tether/errors';

/**
 * The connection closed while this command was in flight (worker profile): it may have run, so it
 * is not re-sent on the next connection (ioredis' `autoResendUnfulfilledCommands` would run an INCR
 * twice). `execute()` retries it only for work flagged `idempotent`.
 */
export class RedisConnectionLostError extends TetherError {
  declare readonly code: 'TETHER_REDIS_CONNECTION_LOST';
  /** Read by @tether/retry's classify(): the command may have run. */
  readonly safety = 'idempotent';
  constructor(client: string, command: string) {
    super('TETHER_REDIS_CONNECTION_LOST', `${client}: the connection closed with ${command} in flight`, {
      retryable: true,
    });
  }
}

/** The offline queue (worker profile, while disconnected) holds `limit` commands already; nothing was sent. */
export class RedisOfflineQueueFullError extends TetherError {
  declare readonly code: 'TETHER_REDIS_OFFLINE_QUEUE_FULL';
  readonly safety = 'always';
  constructor(client: string, limit: number) {
    super(
      'TETHER_REDIS_OFFLINE_QUEUE_FULL',
      `${client}: disconnected and ${limit} commands are already queued (offlineQueueLimit)`,
      { retryable: true },
    );
  }
}

/**
 * The call's deadline passed while this command still waited in an offline queue: it was taken out
 * and will never be sent. The caller already has its DeadlineExceededError; this settles the command.
 */
export class RedisCommandAbandonedError extends TetherError {
  declare readonly code: 'TETHER_REDIS_COMMAND_ABANDONED';
  constructor(client: string, command: string) {
    super('TETHER_REDIS_COMMAND_ABANDONED', `${client}: ${command} abandoned unsent at the call's deadline`, {
      retryable: false,
    });
  }
}
