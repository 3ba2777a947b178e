/**
 * The op behind `fixedRateHttp`: one HTTP request with fetch (keep-alive, a new connection whenever
 * every open one is busy, as an open-loop client must), the body read to the end.
 */
import type { HttpRequestSpec, Op } from './load.ts';

export function createOp(spec: HttpRequestSpec): Op {
  if (!spec || typeof spec.url !== 'string') throw new Error('fixedRateHttp needs a request with a url');
  const expect = spec.expectStatus ?? 200;
  const init: RequestInit = {
    method: spec.method ?? 'GET',
    ...(spec.headers ? { headers: spec.headers } : {}),
    ...(spec.body === undefined ? {} : { body: spec.body }),
  };
  return async () => {
    const response = await fetch(spec.url, init);
    await response.arrayBuffer();
    if (response.status !== expect) throw new Error(`${init.method} ${spec.url}: ${response.status}`);
  };
}
