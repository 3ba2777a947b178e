export { describeValue, type InvalidOptionDetails, TetherInvalidOptionError } from './invalid-option.ts';
export {
  booleanOption,
  describeChoices,
  describeNumberRule,
  functionOption,
  integerFromEnv,
  MAX_TIMER_MS,
  methodsOption,
  type NumberRule,
  numberOption,
  objectOption,
  oneOfOption,
  rejectUnknownKeys,
  requiredStringOption,
  satisfiesNumberRule,
  secretOption,
  stringOption,
} from './option-validators.ts';
export { isTetherError, type TetherCode, TetherError, type TetherErrorOptions } from './tether-error.ts';
