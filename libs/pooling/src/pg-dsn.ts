import { TetherInvalidOptionError } from '@tether/errors';

/** What a libpq URL can set. Every field is optional: explicit options override the URL. */
export interface DsnFields {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  sslmode?: string;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  options?: string;
  applicationName?: string;
  connectTimeoutMs?: number;
}

// libpq query parameters we honour; anything else is refused so a typo (`sslmod=`) is not ignored.
const PARAMETERS = [
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'options',
  'application_name',
  'connect_timeout',
  'host',
  'port',
] as const;

const FIELD = 'connectionString';

/**
 * Parses `postgres[ql]://user:password@host:port/database?sslmode=…`. Errors describe what is wrong
 * without repeating the string: a malformed URL is exactly where a password would slip through a
 * redaction pattern.
 */
export function parseDsn(dsn: unknown): DsnFields {
  if (typeof dsn !== 'string' || dsn.length === 0)
    throw new TetherInvalidOptionError(FIELD, 'must be a non-empty string', { value: dsn, secret: true });
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw new TetherInvalidOptionError(
      FIELD,
      'is not a valid URL (expected postgres://user:password@host:5432/database?sslmode=verify-full)',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new TetherInvalidOptionError(FIELD, 'must use the scheme postgres:// or postgresql://', {
      value: `${url.protocol}//`,
    });
  }
  const fields: DsnFields = {};
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host) fields.host = decode(host, 'host');
  if (url.port) fields.port = Number(url.port);
  if (url.username) fields.user = decode(url.username, 'user');
  if (url.password) fields.password = decode(url.password, 'password');
  const database = url.pathname.replace(/^\//, '');
  if (database) fields.database = decode(database, 'database');
  for (const [key, value] of url.searchParams) {
    switch (key as (typeof PARAMETERS)[number]) {
      case 'sslmode':
        fields.sslmode = value;
        break;
      case 'sslrootcert':
        fields.sslrootcert = value;
        break;
      case 'sslcert':
        fields.sslcert = value;
        break;
      case 'sslkey':
        fields.sslkey = value;
        break;
      case 'options':
        fields.options = value;
        break;
      case 'application_name':
        fields.applicationName = value;
        break;
      case 'host':
        fields.host = value;
        break;
      case 'port': {
        const port = Number(value);
        if (!Number.isInteger(port) || port < 1 || port > 65535)
          throw new TetherInvalidOptionError(`${FIELD}?port`, 'must be an integer between 1 and 65535', {
            value,
          });
        fields.port = port;
        break;
      }
      case 'connect_timeout': {
        // libpq: seconds, 0 = wait forever (we keep our own default then).
        const seconds = Number(value);
        if (!Number.isFinite(seconds) || seconds < 0) {
          throw new TetherInvalidOptionError(`${FIELD}?connect_timeout`, 'must be a number of seconds >= 0', {
            value,
          });
        }
        if (seconds > 0) fields.connectTimeoutMs = seconds * 1000;
        break;
      }
      default:
        throw new TetherInvalidOptionError(
          `${FIELD}?${key}`,
          `is not a supported parameter (supported: ${PARAMETERS.join(', ')})`,
        );
    }
  }
  return fields;
}

function decode(text: string, part: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TetherInvalidOptionError(FIELD, `has malformed percent-encoding in its ${part} part`);
  }
}
