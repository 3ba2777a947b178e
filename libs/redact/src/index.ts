export { MASK, mayContainSecretKey, redactText } from './redact-text.ts';
export { redactUrl } from './redact-url.ts';
export { REDACTED, redactValue } from './redact-value.ts';
export {
  isSecretKey,
  isSecretQueryParam,
  keyWords,
  SECRET_QUERY_PARAMS,
  SECRET_WHOLE_KEYS,
  SECRET_WORD_PAIRS,
  SECRET_WORDS,
  URL_ONLY_SECRET_PARAMS,
} from './secret-keys.ts';
