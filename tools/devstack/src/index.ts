export { canDropPackets, FaultProxy, type FaultProxyOptions } from './fault-proxy.ts';
export { findPostgres, findRedis } from './binaries.ts';
export { DevstackError } from './errors.ts';
export { EphemeralPostgres, type PostgresOptions } from './postgres.ts';
export { EphemeralRedis, type RedisOptions } from './redis.ts';
export { freePort, waitForPort } from './ports.ts';
export { isAlive } from './process-tree.ts';
export { startApp, type AppProcess } from './app-process.ts';
