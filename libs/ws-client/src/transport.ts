import type { WsTransportOptions } from './options.ts';

/** One WebSocket connection, whatever implements it (`ws` in Node, the native WebSocket in browsers). */
export interface Connection {
  readonly state: 'connecting' | 'open' | 'closing' | 'closed';
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Ends it without a closing handshake (dead peer, close() cut-off). */
  terminate(): void;
  /** Sends a ping; absent where the platform cannot (browsers): no heartbeat there. */
  ping?: () => void;
}

export interface ConnectionHandlers {
  open(): void;
  /** Text frames only: binary frames are not part of the protocol and never reach here. */
  message(text: string): void;
  pong(): void;
  /**
   * The connection ended (or never opened). `httpStatus`: the upgrade was answered with this instead
   * of 101 (Node only: browsers do not expose it). `error`: what the socket reported, if anything.
   */
  close(code: number, detail: { httpStatus?: number; error?: Error }): void;
}

export interface TransportSettings {
  headers: Record<string, string>;
  handshakeTimeoutMs: number;
  ws: WsTransportOptions;
}

/** Opens a connection; throws synchronously when it cannot even start (e.g. a header it cannot send). */
export type Transport = (url: URL, settings: TransportSettings, handlers: ConnectionHandlers) => Connection;
