import type { App } from './fork-app.ts';

let nextId = 1;

/** One request/reply over the fixture's IPC channel (fixtures/fetch-metrics-app.ts). */
export function ask<T = Record<string, unknown>>(app: App, request: Record<string, unknown>): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: { id?: number; error?: string }) => {
      if (message.id !== id) return;
      app.child.off('message', onMessage);
      if (message.error) reject(new Error(message.error));
      else resolve(message as T);
    };
    app.child.on('message', onMessage);
    app.child.send({ id, ...request });
  });
}
