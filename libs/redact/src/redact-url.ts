import { MASK } from './redact-text.ts';
import { isSecretQueryParam } from './secret-keys.ts';

/**
 * A connection URL safe to log: the password replaced by `***` (the user stays: it helps
 * debugging), and every query parameter whose name is secret by `isSecretQueryParam`
 * (`sslpassword`, `access_token`, `api_key`, `key`) too. Text that is not a URL gives `<unparseable URL>`: it could be
 * anything, including a bare password.
 */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = MASK;
    for (const key of [...url.searchParams.keys()]) {
      if (isSecretQueryParam(key)) url.searchParams.set(key, MASK);
    }
    return url.toString();
  } catch {
    return '<unparseable URL>';
  }
}
