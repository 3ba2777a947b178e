export {
  WsClient,
  type DisconnectInfo,
  type ResetInfo,
  type WsClientEvents,
  type WsClientState,
} from './client.ts';
export {
  WsAuthError,
  WsClientClosedError,
  WsConnectionError,
  WsHeartbeatTimeoutError,
  WsRejectedError,
  WsTokenTimeoutError,
} from './errors.ts';
export type { TokenSource, WsClientOptions, WsTransportOptions } from './options.ts';
export { compareEventIds, type JobEvent } from './resume.ts';
