import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { EphemeralPostgres } from '@tether/devstack';
import { migrate } from '@tether/migrations';
import { createPgPool, type TetherPgPool } from '@tether/pooling';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { SignJWT } from 'jose';
import { expect } from 'vitest';
import { createApi, type ApiOptions } from '../src/app.ts';
import { createAuthenticator, type AuthOptions } from '../src/auth.ts';
import { buildOpenApiDocument } from '../src/openapi.ts';

export const SECRET = 'a-test-secret-that-is-at-least-32-characters';

/** A signed HS256 token for `sub` (options let tests make it expired, unsigned, etc.). */
export async function token(sub: string | undefined, options: { expiresIn?: string; secret?: string } = {}) {
  const jwt = new SignJWT(sub === undefined ? {} : { sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt();
  jwt.setExpirationTime(options.expiresIn ?? '5m');
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

export interface RunningApi {
  url: string;
  db: TetherPgPool;
  server: Server;
  /** fetch against the API with a bearer token for `sub` (default alice) and JSON handling. */
  call(method: string, path: string, init?: CallInit): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface CallInit {
  sub?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  /** false: send no Authorization header. */
  auth?: boolean;
  timeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- a test reads whatever came back
  method: string;
  path: string;
}

/** The API in this process on a real socket, on the given database (migrated by the caller). */
export async function startApi(
  databaseUrl: string,
  options: Partial<Omit<ApiOptions, 'db'>> & { auth?: AuthOptions; poolMax?: number } = {},
): Promise<RunningApi> {
  const db = createPgPool({
    connectionString: databaseUrl,
    max: options.poolMax ?? 25,
    logger: { warn() {}, error() {}, info() {}, debug() {} } as never,
  });
  const { auth, poolMax: _poolMax, authenticate, ...apiOptions } = options;
  const app = createApi({
    db,
    authenticate: authenticate ?? createAuthenticator(auth ?? { secret: SECRET }),
    ...apiOptions,
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokens = new Map<string, string>();
  return {
    url,
    db,
    server,
    async call(method, path, init = {}) {
      const sub = init.sub ?? 'alice';
      if (!tokens.has(sub)) tokens.set(sub, await token(sub));
      const headers: Record<string, string> = {
        ...(init.auth === false ? {} : { authorization: `Bearer ${tokens.get(sub)}` }),
      };
      let body: string | undefined;
      if (init.rawBody !== undefined) body = init.rawBody;
      else if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers['content-type'] = 'application/json';
      }
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { ...headers, ...init.headers },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: the assertion that follows will say so
      }
      // The path as the server saw it (fetch resolves `.` and `..` segments).
      const sent = new URL(`${url}${path}`);
      return {
        status: response.status,
        headers: response.headers,
        body: parsed,
        method,
        path: sent.pathname + sent.search,
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await db.drain(2_000);
    },
  };
}

/** An ephemeral Postgres with the Tether schema (and graphile-worker's). */
export async function startMigratedPostgres(): Promise<EphemeralPostgres> {
  const pg = await EphemeralPostgres.start();
  await migrate({ databaseUrl: pg.url });
  return pg;
}

const document = buildOpenApiDocument();
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: 'openapi', components: document.components }, 'openapi');
const validators = new Map<string, ReturnType<typeof ajv.compile>>();

/**
 * Asserts that a real response is one the OpenAPI document declares for that operation and status,
 * with the declared content type and a body that validates against the declared schema.
 */
export function expectMatchesOpenApi(response: ApiResponse): void {
  // Express routes are not strict about a trailing slash: /v1/jobs/ is /v1/jobs.
  const path = response.path.split('?')[0]!.replace(/(.)\/$/, '$1');
  const template = Object.keys(document.paths ?? {}).find((t) =>
    new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
  );
  const where = `${response.method} ${path} -> ${response.status}`;
  expect(template, `${where}: no such path in the document`).toBeDefined();
  const operation = (document.paths![template!] as Record<string, any>)[response.method.toLowerCase()]; // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(operation, `${where}: no such operation`).toBeDefined();
  const declared = operation.responses[String(response.status)];
  expect(declared, `${where}: status not declared`).toBeDefined();
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!;
  expect(Object.keys(declared.content ?? {}), where).toContain(contentType);
  const schema = declared.content[contentType].schema;
  if (!schema) return;
  const key = `${template} ${response.method} ${response.status} ${contentType}`;
  if (!validators.has(key)) {
    validators.set(
      key,
      ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'))),
    );
  }
  const validate = validators.get(key)!;
  expect(
    validate(response.body) ? [] : validate.errors,
    `${where}: body ${JSON.stringify(response.body)}`,
  ).toEqual([]);
  for (const [name, header] of Object.entries(
    (declared.headers ?? {}) as Record<string, { required?: boolean }>,
  )) {
    if (header.required) expect(response.headers.get(name), `${where}: header ${name}`).not.toBeNull();
  }
}

/** Asserts an RFC 9457 answer with this status and problem slug (and that the document declares it). */
export function expectProblem(response: ApiResponse, status: number, slug: string): void {
  expect({ status: response.status, type: response.body?.type }, JSON.stringify(response.body)).toEqual({
    status,
    type: `/problems/${slug}`,
  });
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  expect(response.body.status).toBe(status);
  expectMatchesOpenApi(response);
}
