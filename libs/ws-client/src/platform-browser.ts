// The browser's half of the client (package.json "imports" #platform, "browser" condition): no `ws`
// and no Node built-in may be reachable from here.
import { InvalidOptionError } from '@tether/retry';
import type { WsClientOptions } from './options.ts';

export { EventEmitter as Emitter } from 'eventemitter3';
export { browserTransport as transport } from './transport-browser.ts';

/** What a browser cannot do is refused up front rather than failing on every connect. */
export function checkPlatformOptions(options: WsClientOptions): void {
  if (options.tokenIn !== 'query')
    throw new InvalidOptionError(
      'tokenIn',
      'must be "query" in a browser: the WebSocket API cannot send headers',
    );
  if (options.ws !== undefined)
    throw new InvalidOptionError(
      'ws',
      'is not supported in a browser (the browser owns TLS, proxies and limits)',
    );
}
