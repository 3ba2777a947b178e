export { ConfigError } from './errors.ts';
export { redactUrl } from './redact.ts';
export { loadRuntimeConfig, type LoadOptions, type RuntimeConfig } from './runtime-config.ts';
