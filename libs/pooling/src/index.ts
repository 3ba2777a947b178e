// Both halves. A service that uses one of them imports `@tether/pooling/pg` or `@tether/pooling/redis`
// instead, and needs only that driver installed (pg and ioredis are optional peer dependencies).
export * from './pg-entry.ts';
export * from './redis-entry.ts';
