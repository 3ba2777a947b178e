import { TetherError } from '@tether/errors';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  WsAuthError,
  WsConnectionError,
  WsHeartbeatTimeoutError,
  WsRejectedError,
  WsTokenTimeoutError,
} from '../src/index.ts';
import { WsClient, WsClientClosedError, type WsClientOptions } from '../src/index.ts';

describe('@tether/ws-client public surface', () => {
  it('pins the code literals and the client constructor', () => {
    expectTypeOf<WsAuthError['code']>().toEqualTypeOf<'TETHER_WS_AUTH_FAILED'>();
    expectTypeOf<WsRejectedError['code']>().toEqualTypeOf<'TETHER_WS_REJECTED'>();
    expectTypeOf<WsConnectionError['code']>().toEqualTypeOf<'TETHER_WS_CONNECTION_LOST'>();
    expectTypeOf<WsHeartbeatTimeoutError['code']>().toEqualTypeOf<'TETHER_WS_HEARTBEAT_TIMEOUT'>();
    expectTypeOf<WsClientClosedError['code']>().toEqualTypeOf<'TETHER_WS_CLIENT_CLOSED'>();
    expectTypeOf<WsTokenTimeoutError['code']>().toEqualTypeOf<'TETHER_WS_TOKEN_TIMEOUT'>();
    expectTypeOf(WsClient).constructorParameters.toEqualTypeOf<[options: WsClientOptions]>();

    expect(new WsClientClosedError()).toBeInstanceOf(TetherError);
  });
});
