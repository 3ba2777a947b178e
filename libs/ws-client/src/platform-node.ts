// Node's half of the client (package.json "imports" #platform, default condition): node:events and `ws`.
export { EventEmitter as Emitter } from 'node:events';
export { nodeTransport as transport } from './transport-node.ts';

import type { WsClientOptions } from './options.ts';

/** Node supports every option. */
export function checkPlatformOptions(_options: WsClientOptions): void {}
