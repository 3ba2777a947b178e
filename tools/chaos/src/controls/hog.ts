/**
 * A runaway client that takes every connection Postgres will give (as the application role, over the
 * direct address) and keeps taking the ones that free up, until released.
 */
import pg from 'pg';

export const HOG_APPLICATION = 'chaos-hog';

export class ConnectionHog {
  private readonly clients: pg.Client[] = [];
  private readonly url: string;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(url: string) {
    this.url = url;
  }

  get held(): number {
    return this.clients.length;
  }

  /** Opens one connection; false once the server refuses (53300 too many connections). */
  private async grab(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.url, application_name: HOG_APPLICATION });
    client.on('error', () => {});
    try {
      await client.connect();
      this.clients.push(client);
      return true;
    } catch {
      return false;
    }
  }

  /** Fills the server, then keeps it full in the background. */
  async fill(): Promise<void> {
    this.running = true;
    while (await this.grab());
    this.loop = (async () => {
      while (this.running) {
        if (!(await this.grab())) await new Promise((r) => setTimeout(r, 20));
      }
    })();
  }

  async release(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all(this.clients.map((c) => c.end().catch(() => {})));
    this.clients.length = 0;
  }
}
