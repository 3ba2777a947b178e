import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';

export type SslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';
export const SSL_MODES: readonly SslMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];

/**
 * libpq's sslmode semantics as Node TLS options (pg's own `sslmode` parsing has changed meaning
 * across versions, so we build the TLS options ourselves):
 *
 * - `disable`: plaintext.
 * - `require`: encrypted, certificate not checked; with a CA file it behaves like `verify-ca`, as libpq does.
 * - `verify-ca`: the chain must lead to the CA (the file, or the system store); the host name is not checked.
 * - `verify-full`: chain and host name checked. Use this in production.
 *
 * A client certificate (`sslcert` / `sslkey`) is presented in every mode but `disable`.
 * libpq's `allow` / `prefer` are refused: they fall back to plaintext silently.
 */
export function tlsOptions(
  mode: SslMode,
  host: string,
  ca: string | undefined,
  clientCert?: { cert: string; key: string },
): false | ConnectionOptions {
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      return { ...(ca === undefined ? { rejectUnauthorized: false } : verifyChainOnly(ca)), ...clientCert };
    case 'verify-ca':
      return { ...verifyChainOnly(ca), ...clientCert };
    case 'verify-full':
      return {
        rejectUnauthorized: true,
        // SNI must not carry an IP address (RFC 6066; Node warns DEP0123): for an IP, tls checks the
        // certificate's IP SANs against `host`, which pg passes to tls.connect itself.
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...(ca === undefined ? {} : { ca }),
        ...clientCert,
      };
  }
}

function verifyChainOnly(ca: string | undefined): ConnectionOptions {
  return {
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
    ...(ca === undefined ? {} : { ca }),
  };
}
