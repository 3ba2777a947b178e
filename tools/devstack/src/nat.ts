/**
 * A real NAT in front of the devstack's servers: the failure Tether exists for is a middlebox
 * (NAT gateway, load balancer, conntrack) silently forgetting an idle TCP flow. A network namespace
 * has its own conntrack table whose established-idle timeout is a per-namespace sysctl, so the
 * kernel itself can play that middlebox here.
 *
 * Path of a connection to `nat.host:port` (the servers are untouched and stay on loopback):
 *
 *   client (this host) --veth--> namespace: DNAT + masquerade, conntrack with a short idle timeout,
 *   `ct state invalid drop` --veth--> this host: DNAT to 127.0.0.1:port (route_localnet) and SNAT to
 *   127.0.0.1, so the server sees an ordinary loopback client.
 *
 * Once a flow has been idle longer than `idleTimeoutS`, the namespace's conntrack forgets it; the
 * next segment is INVALID (`nf_conntrack_tcp_loose = 0`) and dropped in both directions: no reply,
 * no RST — the same silent hang as behind a real NAT gateway. TCP keepalive probes count as traffic
 * and keep the entry alive, which a userspace proxy cannot show.
 *
 * The namespace is anonymous, held open only by a `sleep` keeper process in its own tracked process
 * group: when the keeper dies (close(), exit handlers, or the devstack's watchdog after a SIGKILL of
 * the owner) the kernel frees the namespace with its veth pair and rules. The host-side nftables
 * table is tracked like the fault proxy's.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readlinkSync, writeFileSync } from 'node:fs';
import { deleteNftTable, trackNftTable, untrackNftTable } from './cleanup.ts';
import { DevstackError } from './errors.ts';
import { ServerProcess } from './server-process.ts';

export interface NatPathOptions {
  /**
   * Seconds an established flow may stay idle before the NAT forgets it
   * (`nf_conntrack_tcp_timeout_established` in the NAT's namespace). AWS NAT gateway: 350,
   * Azure: 240, GCP Cloud NAT: 1200. Whole seconds, 1 to 86400.
   */
  idleTimeoutS: number;
  /** Loopback TCP ports reachable through the NAT at `host:<same port>` (1 to 32 ports). */
  ports: number[];
}

/** What this machine lacks for a NAT path (empty when it can build one). */
export function natPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.platform !== 'linux') return ['Linux (network namespaces and conntrack)'];
  if (process.getuid?.() !== 0) missing.push('root (network namespaces, veth links and nftables)');
  for (const [binary, pkg] of [
    ['ip', 'iproute2'],
    ['nft', 'nftables'],
    ['unshare', 'util-linux'],
    ['nsenter', 'util-linux'],
    ['sysctl', 'procps'],
  ] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    } catch {
      missing.push(`${binary} (Debian/Ubuntu: apt-get install ${pkg})`);
    }
  }
  return missing;
}

function run(command: string, args: string[], input?: string): void {
  try {
    execFileSync(command, args, { stdio: ['pipe', 'ignore', 'pipe'], input });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new DevstackError(
      'TETHER_DEVSTACK_NAT',
      `NAT path: \`${command} ${args.join(' ')}\` failed${stderr ? `: ${stderr}` : ''}`,
      { cause: error },
    );
  }
}

function validate(options: NatPathOptions): void {
  const { idleTimeoutS, ports } = options;
  if (!Number.isInteger(idleTimeoutS) || idleTimeoutS < 1 || idleTimeoutS > 86_400) {
    throw new DevstackError(
      'TETHER_DEVSTACK_NAT',
      `NAT path: idleTimeoutS must be a whole number of seconds from 1 to 86400 (got ${JSON.stringify(idleTimeoutS)})`,
    );
  }
  if (
    !Array.isArray(ports) ||
    ports.length < 1 ||
    ports.length > 32 ||
    !ports.every((p) => Number.isInteger(p) && p > 0 && p < 65_536)
  ) {
    throw new DevstackError(
      'TETHER_DEVSTACK_NAT',
      `NAT path: ports must list 1 to 32 TCP ports (got ${JSON.stringify(ports)})`,
    );
  }
}

async function waitForOwnNamespace(pid: number): Promise<void> {
  const ours = readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 200; i++) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) !== ours) return;
    } catch {
      // not there yet, or the keeper failed (reported below)
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new DevstackError('TETHER_DEVSTACK_NAT', 'NAT path: the namespace keeper did not enter a namespace');
}

/**
 * A client-side path to loopback servers through a kernel NAT that forgets idle flows. Dial
 * `nat.host` (or `nat.url(…)`) instead of 127.0.0.1, with the same port.
 */
export class NatPath {
  /** The address clients dial: the NAT's side of the veth link (RFC 2544 benchmarking range). */
  readonly host: string;
  /** Host-side veth interface (gone once the NAT is closed). */
  readonly hostLink: string;
  /** Host-side nftables table (inet family). */
  readonly nftTable: string;
  private readonly keeper: ServerProcess;
  private idleTimeout: number;

  private constructor(host: string, hostLink: string, nftTable: string, keeper: ServerProcess, idle: number) {
    this.host = host;
    this.hostLink = hostLink;
    this.nftTable = nftTable;
    this.keeper = keeper;
    this.idleTimeout = idle;
  }

  static async create(options: NatPathOptions): Promise<NatPath> {
    validate(options);
    const missing = natPrerequisites();
    if (missing.length > 0) {
      throw new DevstackError('TETHER_DEVSTACK_NAT', `NAT path needs: ${missing.join('; ')}`);
    }
    const keeper = new ServerProcess('nat-keeper', {
      command: 'unshare',
      args: ['--net', 'sleep', 'infinity'],
    });
    keeper.start();
    try {
      const pid = keeper.pid;
      if (pid === undefined) throw new DevstackError('TETHER_DEVSTACK_NAT', 'NAT path: keeper exited');
      await waitForOwnNamespace(pid);
      return NatPath.wire(pid, keeper, options);
    } catch (error) {
      await keeper.kill();
      throw error;
    }
  }

  private static wire(pid: number, keeper: ServerProcess, options: NatPathOptions): NatPath {
    const id = randomBytes(3).toString('hex');
    const hostLink = `tnh${id}`;
    const nsLink = `tnn${id}`;
    const nftTable = `tether_nat_${id}`;
    const inNs = (command: string, args: string[], input?: string) =>
      run('nsenter', ['-t', String(pid), '-n', command, ...args], input);
    run('ip', ['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', nsLink, 'netns', String(pid)]);
    // A /30 in 198.18.0.0/15 (reserved for network tests), retried if another NAT path took it.
    let base = '';
    for (let attempt = 0; ; attempt++) {
      base = `198.${18 + randomInt(2)}.${randomInt(256)}.${4 * randomInt(64)}`;
      const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
      try {
        run('ip', ['addr', 'add', `${a}.${b}.${c}.${d + 1}/30`, 'dev', hostLink]);
        break;
      } catch (error) {
        if (attempt >= 20) throw error;
      }
    }
    const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
    const hostSide = `${a}.${b}.${c}.${d + 1}`;
    const natSide = `${a}.${b}.${c}.${d + 2}`;
    writeFileSync(`/proc/sys/net/ipv4/conf/${hostLink}/route_localnet`, '1');
    run('ip', ['link', 'set', hostLink, 'up']);
    inNs('ip', ['addr', 'add', `${natSide}/30`, 'dev', nsLink]);
    inNs('ip', ['link', 'set', nsLink, 'up']);
    inNs('ip', ['link', 'set', 'lo', 'up']);
    const ports = `{ ${options.ports.join(', ')} }`;
    // Rules first: they start conntrack in the namespace, which creates its net.netfilter sysctls.
    inNs(
      'nft',
      ['-f', '-'],
      `table ip tether_nat {
  chain prerouting { type nat hook prerouting priority dstnat; iifname "${nsLink}" ip daddr ${natSide} tcp dport ${ports} dnat to ${hostSide}; }
  chain postrouting { type nat hook postrouting priority srcnat; oifname "${nsLink}" ip daddr ${hostSide} masquerade; }
  chain forward { type filter hook forward priority filter; ct state invalid drop; }
  chain input { type filter hook input priority filter; ct state invalid drop; }
  chain output { type filter hook output priority filter; ct state invalid drop; }
}
`,
    );
    inNs('sysctl', [
      '-qw',
      'net.ipv4.ip_forward=1',
      `net.ipv4.conf.${nsLink}.send_redirects=0`,
      'net.ipv4.conf.all.send_redirects=0',
      'net.netfilter.nf_conntrack_tcp_loose=0',
      `net.netfilter.nf_conntrack_tcp_timeout_established=${options.idleTimeoutS}`,
    ]);
    trackNftTable(nftTable);
    run(
      'nft',
      ['-f', '-'],
      `table inet ${nftTable} {
  chain prerouting { type nat hook prerouting priority dstnat; iifname "${hostLink}" ip saddr ${natSide} ip daddr ${hostSide} tcp dport ${ports} dnat ip to 127.0.0.1; }
  chain input { type nat hook input priority 100; iifname "${hostLink}" ip daddr 127.0.0.1 tcp dport ${ports} snat ip to 127.0.0.1; }
}
`,
    );
    return new NatPath(natSide, hostLink, nftTable, keeper, options.idleTimeoutS);
  }

  /** Seconds an idle established flow survives in this NAT. */
  get idleTimeoutS(): number {
    return this.idleTimeout;
  }

  /** Change the NAT's idle timeout; applies to flows already open, from their next packet on. */
  setIdleTimeout(seconds: number): void {
    validate({ idleTimeoutS: seconds, ports: [1] });
    const pid = this.keeper.pid;
    if (pid === undefined) throw new DevstackError('TETHER_DEVSTACK_NAT', 'NAT path: already closed');
    run('nsenter', [
      '-t',
      String(pid),
      '-n',
      'sysctl',
      '-qw',
      `net.netfilter.nf_conntrack_tcp_timeout_established=${seconds}`,
    ]);
    this.idleTimeout = seconds;
  }

  /** `url` with its loopback host replaced by the NAT's address (same port, credentials kept). */
  url(url: string): string {
    const parsed = new URL(url);
    if (parsed.hostname !== '127.0.0.1' && parsed.hostname !== 'localhost') {
      throw new DevstackError(
        'TETHER_DEVSTACK_NAT',
        `NAT path: only loopback servers can be reached through it (got host ${parsed.hostname})`,
      );
    }
    parsed.hostname = this.host;
    return parsed.toString();
  }

  /** Tear it down: the namespace (with its veth pair and rules) and the host-side table. */
  async close(): Promise<void> {
    await this.keeper.kill();
    deleteNftTable(this.nftTable);
    untrackNftTable(this.nftTable);
  }
}
