export { ConfigError } from './errors.ts';
// The one redaction rule of the workspace (@tether/redact), re-exported where apps read their URLs.
export { redactUrl } from '@tether/redact';
export { loadRuntimeConfig, type LoadOptions, type RuntimeConfig } from './runtime-config.ts';
export { type PgPoolSettings, pgPoolSettings, type RedisSettings, redisSettings } from './pool-settings.ts';
