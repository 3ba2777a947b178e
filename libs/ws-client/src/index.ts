export { WsClient, type DisconnectInfo, type WsClientEvents, type WsClientState } from './client.ts';
export {
  WsAuthError,
  WsClientClosedError,
  WsConnectionError,
  WsHeartbeatTimeoutError,
  WsRejectedError,
} from './errors.ts';
export type { TokenSource, WsClientOptions } from './options.ts';
export { compareEventIds, type JobEvent } from './resume.ts';
