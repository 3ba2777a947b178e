import { execFileSync } from 'node:child_process';
import { type AddressInfo, createServer, type Server, type Socket, connect } from 'node:net';
import { deleteNftTable, trackNftTable, untrackNftTable } from './cleanup.ts';

export interface FaultProxyOptions {
  /** Upstream server. */
  targetHost?: string;
  targetPort: number;
  /** Listen port on 127.0.0.1; default: a free one. */
  port?: number;
}

interface Link {
  client: Socket;
  upstream: Socket;
  blackholed: boolean;
}

let nftAvailable: boolean | undefined;

/** Whether kernel-level packet drops (nftables, root) are possible on this machine. */
export function canDropPackets(): boolean {
  if (nftAvailable === undefined) {
    try {
      execFileSync('nft', ['list', 'tables'], { stdio: 'ignore' });
      nftAvailable = true;
    } catch {
      nftAvailable = false;
    }
  }
  return nftAvailable;
}

/**
 * A TCP proxy between a client and a server that injects the network faults Kubernetes networks
 * produce:
 *
 * - `blackhole()`: established connections go silent, no FIN, no RST, like a NAT gateway or
 *   conntrack entry that forgot them. With nftables (root) the packets are dropped in the kernel,
 *   so even TCP keepalive probes go unanswered, exactly as behind a real NAT; without it the proxy
 *   just stops forwarding (the kernel still ACKs, so keepalive cannot see that fault).
 * - `blackhole({ newConnections: true })`: also drop SYNs, so connects hang.
 * - `reset()`: every established connection gets a TCP RST.
 * - `refuse()`: stop listening: new connections get ECONNREFUSED.
 * - `heal()`: back to forwarding.
 */
export class FaultProxy {
  private readonly links = new Set<Link>();
  private server: Server | undefined;
  private nftTable: string | undefined;
  private blackholeNew = false;
  private listenPort: number;
  private readonly options: FaultProxyOptions;

  private constructor(options: FaultProxyOptions) {
    this.options = options;
    this.listenPort = options.port ?? 0;
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await proxy.listen();
    return proxy;
  }

  get port(): number {
    return this.listenPort;
  }

  get host(): string {
    return '127.0.0.1';
  }

  /**
   * Connections the proxy holds: each until both its sides are closed, so a blackholed one whose
   * server side hung up still counts while the client's socket is open (heal() resets those).
   */
  get connectionCount(): number {
    return this.links.size;
  }

  private listen(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, this.host, () => {
        this.listenPort = (server.address() as AddressInfo).port;
        server.off('error', reject);
        resolve();
      });
    });
  }

  private accept(client: Socket): void {
    if (this.blackholeNew) {
      // Userspace fallback: accept but never forward.
      client.on('error', () => {});
      this.links.add({ client, upstream: client, blackholed: true });
      return;
    }
    const upstream = connect({ host: this.options.targetHost ?? '127.0.0.1', port: this.options.targetPort });
    const link: Link = { client, upstream, blackholed: false };
    this.links.add(link);
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => {
        if (!link.blackholed) to.write(chunk);
      });
      from.on('end', () => {
        if (!link.blackholed) to.end();
      });
      from.on('error', () => {
        if (!link.blackholed) to.resetAndDestroy();
      });
      from.on('close', () => {
        if (!link.blackholed) {
          this.links.delete(link);
          to.destroy();
          return;
        }
        // Blackholed: the other side hears nothing, as on a real network, but the link stays known
        // until both sides are gone, so heal() can still reset it and close() can still end it (a
        // socket the proxy forgot would hold close() open for ever).
        if (link.client.destroyed && link.upstream.destroyed) this.links.delete(link);
      });
    };
    forward(client, upstream);
    forward(upstream, client);
  }

  /** Silently drop every established connection (and, with `newConnections`, every new one). */
  blackhole(options: { newConnections?: boolean } = {}): void {
    const clientPorts = [...this.links]
      .map((l) => l.client.remotePort)
      .filter((p): p is number => p !== undefined);
    for (const link of this.links) link.blackholed = true;
    if (options.newConnections) this.blackholeNew = true;
    if (!canDropPackets()) return;
    const table = this.nftTable ?? `tether_fp_${process.pid}_${this.listenPort}`;
    if (!this.nftTable) {
      execFileSync('nft', ['add', 'table', 'inet', table]);
      execFileSync('nft', ['add', 'chain', 'inet', table, 'out', '{ type filter hook output priority 0 ; }']);
      this.nftTable = table;
      trackNftTable(table);
    }
    const rules: string[][] = [];
    if (options.newConnections) {
      rules.push(
        ['tcp', 'dport', String(this.listenPort), 'drop'],
        ['tcp', 'sport', String(this.listenPort), 'drop'],
      );
    } else if (clientPorts.length > 0) {
      const set = `{ ${clientPorts.join(', ')} }`;
      rules.push(
        ['tcp', 'dport', String(this.listenPort), 'tcp', 'sport', set, 'drop'],
        ['tcp', 'sport', String(this.listenPort), 'tcp', 'dport', set, 'drop'],
      );
    }
    for (const rule of rules) execFileSync('nft', ['add', 'rule', 'inet', table, 'out', ...rule]);
  }

  /** Send a TCP RST on every established connection, both sides. */
  reset(): void {
    for (const link of this.links) {
      link.blackholed = true;
      link.client.resetAndDestroy();
      link.upstream.resetAndDestroy();
    }
    this.links.clear();
  }

  /** Stop listening: new connections are refused; established ones are left alone. */
  async refuse(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.server?.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  /**
   * Back to normal: drop rules removed and listening again. Connections that were blackholed stay
   * dead (their bytes are gone, as on a real network).
   */
  async heal(): Promise<void> {
    // Forget blackholed connections while their packets are still dropped, like a NAT that lost
    // the mapping: the client's next segment then meets a kernel RST, never a polite FIN.
    for (const link of this.links) {
      if (link.blackholed) {
        link.client.resetAndDestroy();
        link.upstream.resetAndDestroy();
        this.links.delete(link);
      }
    }
    await new Promise((r) => setTimeout(r, 20));
    this.removeRules();
    this.blackholeNew = false;
    if (!this.server?.listening) await this.listen();
  }

  private removeRules(): void {
    if (!this.nftTable) return;
    deleteNftTable(this.nftTable);
    untrackNftTable(this.nftTable);
    this.nftTable = undefined;
  }

  async close(): Promise<void> {
    this.removeRules();
    for (const link of this.links) {
      link.client.destroy();
      link.upstream.destroy();
    }
    this.links.clear();
    await this.refuse();
  }
}
