import type { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

/**
 * The SDK's AsyncLocalStorage context manager, plus `enter()`: makes a context active for the rest
 * of the current synchronous execution and everything it schedules. The lean HTTP server span needs
 * it because `http.server.request.start` is *published* right before the server emits `request`,
 * with no callback to wrap in `context.with()`.
 */
export class RequestContextManager extends AsyncLocalStorageContextManager {
  enter(context: Context): void {
    // `_asyncLocalStorage` is private in the typings only; the test suite covers that it still exists.
    (this as unknown as { _asyncLocalStorage: AsyncLocalStorage<Context> })._asyncLocalStorage.enterWith(
      context,
    );
  }
}
