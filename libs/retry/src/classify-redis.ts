import { type Classification, messageOf, permanent, stringProp, transient } from './classification.ts';

// Redis error replies start with an uppercase prefix (READONLY, LOADING…). These are rejections:
// the server refused the command, so it did nothing.
const REPLY_PREFIXES = new Map<string, Classification>([
  ['READONLY', transient('always', 'redis READONLY (failover in progress)', 'READONLY')],
  ['LOADING', transient('always', 'redis LOADING dataset', 'LOADING')],
  ['TRYAGAIN', transient('always', 'redis TRYAGAIN (multi-key command during resharding)', 'TRYAGAIN')],
  ['CLUSTERDOWN', transient('always', 'redis CLUSTERDOWN (slots not served)', 'CLUSTERDOWN')],
  // Redirections: the node does not own the slot and did not run the command. ioredis' Cluster
  // follows them itself and updates its slot map; one reaches the caller only when redirections ran
  // out mid-resharding or failover, and the next attempt starts from the updated map.
  ['MOVED', transient('always', 'redis MOVED (slot served by another node)', 'MOVED')],
  ['ASK', transient('always', 'redis ASK (slot migrating)', 'ASK')],
  ['MASTERDOWN', transient('always', 'redis MASTERDOWN', 'MASTERDOWN')],
  ['BUSY', transient('always', 'redis BUSY running a script', 'BUSY')],
  ['NOAUTH', permanent('redis NOAUTH', 'NOAUTH')],
  ['WRONGPASS', permanent('redis WRONGPASS', 'WRONGPASS')],
]);

// ioredis' own errors, matched on their exact messages (ioredis 6 built/Redis.js, event_handler.js).
const IOREDIS_MESSAGES = new Map<string, Classification>([
  // Commands pending when the socket closed may have been executed.
  ['Connection is closed.', transient('idempotent', 'ioredis connection closed')],
  [
    'Command aborted due to connection close',
    transient('idempotent', 'ioredis command aborted by connection close'),
  ],
  ['Command timed out', transient('idempotent', 'ioredis commandTimeout')],
  ['connect ETIMEDOUT', transient('always', 'ioredis connectTimeout')],
  // Rejected before it was written because the offline queue is disabled.
  [
    "Stream isn't writeable and enableOfflineQueue options is false",
    transient('always', 'ioredis offline, queue disabled'),
  ],
  // Cluster mode (ioredis 6 built/cluster/index.js): no node was picked, so nothing was written.
  [
    "Cluster isn't ready and enableOfflineQueue options is false",
    transient('always', 'ioredis cluster not ready, queue disabled'),
  ],
  // The cluster could not reach any seed node; queued commands are flushed with it unsent.
  ['None of startup nodes is available', transient('always', 'ioredis cluster: no startup node reachable')],
  ['Failed to refresh slots cache.', transient('always', 'ioredis cluster: slot map refresh failed')],
]);

// "Too many Cluster redirections. Last error: <String(error)>": safe exactly when the last error
// was itself a refusal; after "Connection is closed." the command may have run.
const REDIRECTIONS = 'Too many Cluster redirections. Last error: ';

function classifyRedirections(message: string): Classification {
  const last = message.slice(REDIRECTIONS.length);
  const refused = /^ReplyError: (MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/.test(last);
  return refused
    ? transient('always', 'ioredis cluster: redirections exhausted, every try refused')
    : transient('idempotent', 'ioredis cluster: redirections exhausted after a connection error');
}

export function classifyRedis(error: unknown): Classification | undefined {
  const name = stringProp(error, 'name');
  const message = messageOf(error);
  // A sent command can be re-sent after a reconnect (autoResendUnfulfilledCommands) before this
  // error is raised, so only idempotent commands may be retried.
  if (name === 'MaxRetriesPerRequestError')
    return transient('idempotent', 'ioredis maxRetriesPerRequest reached', name);
  if (name === 'ReplyError') {
    // Any other error reply (ERR, WRONGTYPE, NOSCRIPT…) is about the command itself: it fails again.
    const prefix = /^[A-Z]+/.exec(message)?.[0] ?? 'ERR';
    return REPLY_PREFIXES.get(prefix) ?? permanent(`redis ${prefix} reply`, prefix);
  }
  if (message.startsWith(REDIRECTIONS)) return classifyRedirections(message);
  if (message.startsWith('Socket timeout. Expecting data'))
    return transient('idempotent', 'ioredis socketTimeout');
  return IOREDIS_MESSAGES.get(message);
}
