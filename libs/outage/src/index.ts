export { OutageOptionsError } from './errors.ts';
export { describeError, redactMessage } from './error-description.ts';
export type { OutageTrackerOptions } from './options.ts';
export { DEPENDENCY_ATTRIBUTE, OutageTracker, type ReconnectAttempt } from './outage-tracker.ts';
