/** Awaits a promise that must reject and returns what it rejected with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, it resolved');
}

/** Resolves with the first 'error' event of an emitter. */
export function nextError(emitter: {
  once(event: 'error', listener: (error: unknown) => void): unknown;
}): Promise<unknown> {
  return new Promise((resolve) => emitter.once('error', resolve));
}
