/**
 * A runaway client that takes every connection the application role may open and keeps taking the
 * ones that free up, until released.
 *
 * The role's `CONNECTION LIMIT` is set to its sessions now plus `spare`, so "the server is full" costs
 * tens of connections instead of the devstack's 300 `max_connections` (each one a scram login, which
 * on a busy 2-core machine takes a second). The clients see the same SQLSTATE 53300
 * (too_many_connections) as with `max_connections` reached.
 */
import type { EphemeralPostgres } from '@tether/devstack';
import pg from 'pg';

export const HOG_APPLICATION = 'chaos-hog';

export class ConnectionHog {
  private readonly clients: pg.Client[] = [];
  private readonly postgres: EphemeralPostgres;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(postgres: EphemeralPostgres) {
    this.postgres = postgres;
  }

  get held(): number {
    return this.clients.length;
  }

  /** Opens one connection; false once the server refuses (53300). */
  private async grab(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.postgres.url, application_name: HOG_APPLICATION });
    client.on('error', () => {});
    try {
      await client.connect();
      this.clients.push(client);
      return true;
    } catch {
      return false;
    }
  }

  /** Caps the role at its current sessions + `spare`, takes every free slot, keeps the server full. */
  async fill(spare = 20): Promise<void> {
    const sessions = await this.postgres.connectionCount();
    await this.postgres.sql(`ALTER ROLE ${this.postgres.user} CONNECTION LIMIT ${sessions + spare}`);
    this.running = true;
    for (;;) {
      const got = await Promise.all(Array.from({ length: 10 }, () => this.grab()));
      if (got.some((ok) => !ok)) break;
    }
    this.loop = (async () => {
      while (this.running) {
        if (!(await this.grab())) await new Promise((r) => setTimeout(r, 20));
      }
    })();
  }

  async release(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.postgres.sql(`ALTER ROLE ${this.postgres.user} CONNECTION LIMIT -1`);
    await Promise.all(this.clients.map((c) => c.end().catch(() => {})));
    this.clients.length = 0;
  }
}
