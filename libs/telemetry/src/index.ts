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
export { isSecretKey, REDACTED, redactString, redactValue } from './redact.ts';
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
