export { ConfigError } from './errors.ts';
// The one redaction rule of the workspace (@tether/redact), re-exported where apps read their URLs.
export { redactUrl } from '@tether/redact';
export { loadRuntimeConfig, type LoadOptions, type RuntimeConfig } from './runtime-config.ts';
