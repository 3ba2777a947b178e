export { TelemetryAlreadyStartedError, TelemetryConfigError } from './errors.ts';
export { createLogger, type Logger, type LoggerConfig } from './logger.ts';
export type { InstrumentationSwitches, ShutdownRegistrar, TelemetryOptions } from './options.ts';
export {
  type ConsumerSpanOptions,
  extractTraceContext,
  injectTraceContext,
  traceConsumer,
  type TraceCarrier,
} from './propagation.ts';
// The shared rule, re-exported for apps that already import telemetry (libs import @tether/redact).
export { isSecretKey, REDACTED, redactText, redactUrl, redactValue } from '@tether/redact';
export { k8sEnvironment } from './resource.ts';
export { OutageAwareSampler, type SamplerName } from './sampler.ts';
export { startTelemetry, type Telemetry } from './start-telemetry.ts';
export {
  traceWebSocketHandshake,
  traceWebSocketMessage,
  type WebSocketMessageInfo,
} from './websocket-spans.ts';
export {
  DEPENDENCY_ATTRIBUTE,
  describeError,
  OutageOptionsError,
  OutageTracker,
  type OutageTrackerOptions,
  type ReconnectAttempt,
} from '@tether/outage';
