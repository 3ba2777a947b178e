import { type Classification, stringProp, transient } from './classification.ts';

// Errnos that mean "the network or the peer is having a bad moment". Whether anything reached the
// server depends on the phase: a failed `connect` (or DNS lookup) sent nothing.
const ERRNOS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// Errnos that can only happen before a connection exists, whatever the syscall says.
const BEFORE_CONNECT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

// undici (fetch) wraps socket failures in its own codes under `TypeError('fetch failed').cause`.
const UNDICI = new Map<string, Classification['safety']>([
  ['UND_ERR_CONNECT_TIMEOUT', 'always'],
  ['UND_ERR_SOCKET', 'idempotent'],
  ['UND_ERR_HEADERS_TIMEOUT', 'idempotent'],
  ['UND_ERR_BODY_TIMEOUT', 'idempotent'],
  ['UND_ERR_CLOSED', 'idempotent'],
]);

export function classifyNetwork(error: unknown): Classification | undefined {
  const code = stringProp(error, 'code');
  if (code === undefined) return undefined;
  if (ERRNOS.has(code)) {
    const syscall = stringProp(error, 'syscall');
    const nothingSent = BEFORE_CONNECT.has(code) || syscall === 'connect' || syscall === 'getaddrinfo';
    return transient(nothingSent ? 'always' : 'idempotent', syscall ? `${code} (${syscall})` : code, code);
  }
  const undici = UNDICI.get(code);
  return undici ? transient(undici, code, code) : undefined;
}
