import { InvalidCursorError } from './errors.ts';

/** Where a page ended: the last job's creation time (µs since the epoch, exact) and id. */
export interface CursorPosition {
  createdUs: bigint;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Opaque to clients: base64url of `<µs>.<uuid>`. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(`${position.createdUs}.${position.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw new InvalidCursorError();
  const [us, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('.');
  if (rest.length || !us || !/^\d{1,17}$/.test(us) || !id || !UUID.test(id)) throw new InvalidCursorError();
  return { createdUs: BigInt(us), id };
}
