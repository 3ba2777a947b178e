import type { Socket } from 'node:net';
import { type AttemptRecord, classify } from '@tether/retry';
import { Cluster, type Command, type Redis } from 'ioredis';
import { RedisCommandAbandonedError, RedisOfflineQueueFullError } from './redis-errors.ts';

type Client = Redis | Cluster;

// ioredis 6 internals this file relies on (Redis.js, cluster/index.js; checked against 6.0.0):
// `offlineQueue` / `commandQueue` are denque instances of `{ command }` items, `stream` the socket.
interface QueueItem {
  command: Command;
}
interface Queue {
  readonly length: number;
  peekAt(index: number): QueueItem | undefined;
  removeOne(index: number): QueueItem | undefined;
}
interface Internals {
  status: string;
  offlineQueue: Queue;
  commandQueue?: Queue;
  stream?: Socket;
}
// Redis.sendCommand(command, stream?) and Cluster.sendCommand(command, stream?, node?).
type Send = (command: Command, stream?: unknown, node?: unknown) => Promise<unknown>;

const STATE = Symbol('tether.redis.attempt');

interface AttemptState {
  record: AttemptRecord;
  /** Commands handed to ioredis and not refused on the spot; kept to abandon them at the deadline. */
  commands: Command[];
}

/**
 * What one attempt of `execute()` does with the client, so that the retry rule can be applied per
 * attempt (@tether/retry's `mayRetryAttempt`) and a missed deadline leaves nothing behind.
 *
 * The callback gets a view of the client (an object whose prototype is the client, so every
 * command method works unchanged) whose `sendCommand` records each command in the attempt's
 * `AttemptRecord`: once one was handed to ioredis, a later "nothing was sent" error no longer makes
 * re-running the callback safe. A command refused on the spot (offline, queue disabled) never left
 * the process and does not count.
 */
export class RedisAttempts {
  private readonly real: Client;
  private readonly name: string;
  private readonly offlineQueueLimit: number;
  /** Shared by every view: one function, no closure per attempt (this is the hot path). */
  private readonly tracking: Client;

  /** `offlineQueueLimit` 0: no limit of ours (the request profile has no offline queue at all). */
  constructor(real: Client, name: string, offlineQueueLimit: number) {
    this.real = real;
    this.name = name;
    this.offlineQueueLimit = offlineQueueLimit;
    const realSend = real.sendCommand.bind(real) as Send;
    const limited = offlineQueueLimit > 0;
    const refuseWhenFull = (command: Command): boolean => {
      if (!limited || !this.queueFull()) return false;
      command.reject(new RedisOfflineQueueFullError(this.name, this.offlineQueueLimit));
      return true;
    };
    const tracking = Object.create(real) as Client;
    (tracking as unknown as { sendCommand: Send }).sendCommand = function (
      this: { [STATE]: AttemptState },
      command: Command,
      stream?: unknown,
      node?: unknown,
    ) {
      const state = this[STATE];
      if (refuseWhenFull(command)) return command.promise;
      state.record.commandSent();
      const promise = realSend(command, stream, node);
      // Settled synchronously means refused before anything was written.
      if (command.isSettled) state.record.commandNotSent();
      else state.commands.push(command);
      return promise;
    };
    this.tracking = tracking;
  }

  /** A client view for one attempt, recording into `record`. */
  view(record: AttemptRecord): Client {
    const view = Object.create(this.tracking) as Client & { [STATE]: AttemptState };
    view[STATE] = { record, commands: [] };
    return view;
  }

  /**
   * The attempt failed: before the retry rule reads the record, take back the commands that were
   * handed to ioredis but in the end failed with an error proving they never ran (a READONLY reply
   * that ioredis re-sent while reconnecting, refused unsent). Runs on failures only; every command
   * is settled or still pending (pending ones stay counted).
   */
  async settleFailed(view: Client): Promise<void> {
    const state = (view as unknown as { [STATE]: AttemptState })[STATE];
    for (const command of state.commands) {
      if (!command.isSettled || command.isResolved) continue;
      const reason: unknown = await command.promise.then(
        () => undefined,
        (error: unknown) => error,
      );
      if (classify(reason).safety === 'always') state.record.commandNotSent();
    }
  }

  /**
   * The call's deadline passed (or it was cancelled) with this attempt unfinished: nothing it sent
   * may run later. Commands still queued offline are taken out and settled; a connection with one of
   * them in flight is reset (RST, so the kernel does not deliver the bytes once the network heals;
   * the server may still have run it, which the deadline error does not deny).
   */
  abandon(view: Client): void {
    const state = (view as unknown as { [STATE]: AttemptState })[STATE];
    const pending = state.commands.filter((c) => !c.isSettled);
    if (pending.length === 0) return;
    const connections = this.connections();
    for (const command of pending) {
      if (connections.some((c) => removeFrom(c.offlineQueue, command))) {
        command.reject(new RedisCommandAbandonedError(this.name, command.name.toUpperCase()));
        continue;
      }
      const holder = connections.find((c) => c.commandQueue && indexIn(c.commandQueue, command) >= 0);
      if (holder?.stream && !holder.stream.destroyed) holder.stream.resetAndDestroy();
    }
  }

  private queueFull(): boolean {
    const real = this.real as unknown as Internals;
    return real.status !== 'ready' && real.offlineQueue.length >= this.offlineQueueLimit;
  }

  /** Every place a command can wait: the client itself and, in Cluster mode, each node's connection. */
  private connections(): Internals[] {
    const own = this.real as unknown as Internals;
    if (!(this.real instanceof Cluster)) return [own];
    return [own, ...(this.real.nodes('all') as unknown as Internals[])];
  }
}

function indexIn(queue: Queue, command: Command): number {
  for (let i = 0; i < queue.length; i++) if (queue.peekAt(i)?.command === command) return i;
  return -1;
}

function removeFrom(queue: Queue, command: Command): boolean {
  const index = indexIn(queue, command);
  if (index < 0) return false;
  queue.removeOne(index);
  return true;
}
