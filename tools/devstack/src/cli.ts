/**
 * `npm start` = `node tools/devstack/src/cli.ts up [--free-ports] [--state-dir <dir>] [--nat <s>]`: the
 * whole platform locally; stack.json goes to `<state-dir>` (default `.tether/`). `--nat 350` puts the
 * apps behind a kernel NAT that forgets connections idle 350 s (root; see NatPath).
 * Ctrl-C or SIGTERM stops everything through the apps' graceful path.
 */
import { LocalStack } from './stack.ts';
(await import('./preflight.ts')).preflight('start'); // lists every missing prerequisite first

const usage =
  'usage: node tools/devstack/src/cli.ts up [--free-ports] [--state-dir <dir>] [--nat <idle-timeout-s>]';
const [command = 'up', ...args] = process.argv.slice(2);
let freePorts = false;
let stateDir: string | undefined;
let natIdleTimeoutS: number | undefined;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--free-ports') freePorts = true;
  else if (args[i] === '--state-dir' && args[i + 1]) stateDir = args[++i];
  else if (args[i] === '--nat' && /^\d+$/.test(args[i + 1] ?? '')) natIdleTimeoutS = Number(args[++i]);
  else {
    console.error(`${usage} (unexpected: ${args[i]})`);
    process.exit(2);
  }
}
if (command !== 'up') {
  console.error(usage);
  process.exit(2);
}

const stack = new LocalStack({
  freePorts,
  ...(stateDir ? { stateDir } : {}),
  ...(natIdleTimeoutS === undefined ? {} : { natIdleTimeoutS }),
});
let exitCode = 0;
const stop = async (why: string) => {
  console.log(`\nstopping (${why})…`);
  const started = Date.now();
  await stack.down();
  console.log(`stopped in ${Date.now() - started} ms`);
  process.exit(exitCode);
};
let signalledAt: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (signalledAt === undefined) {
      signalledAt = Date.now();
      void stop(signal);
    } else if (Date.now() - signalledAt > 1_000) {
      // A second Ctrl-C does not wait: the exit handlers SIGKILL every process the stack started.
      // (Within the first second it is the same Ctrl-C arriving twice: from the terminal and via npm.)
      process.exit(130);
    }
  });
}

// `npm start` may exit on SIGTERM without passing it on (npm 11 does): when the process that
// started us goes away, stop as if we had been signalled, so nothing outlives it.
const parentPid = process.ppid;
setInterval(() => {
  try {
    process.kill(parentPid, 0);
  } catch {
    if (signalledAt === undefined) {
      signalledAt = Date.now();
      void stop('parent process exited');
    }
  }
}, 200).unref();

try {
  const d = await stack.up();
  console.log(`
Tether is up.
  console      ${d.console}        (create demo jobs, watch their events, see outages)
  API          ${d.api}        (OpenAPI: ${d.api}/openapi.json)
  WebSocket    ${d.ws}
  admin        api ${d.admin.api}  worker ${d.admin.worker}  ws-gateway ${d.admin.wsGateway}
  Postgres     ${d.databaseUrl.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')}
  Redis        ${d.redisUrl}
  stack file   ${stack.stackFile} (has the credentials)
  traces       ${stack.traceFile ?? 'sent to OTEL_EXPORTER_OTLP_ENDPOINT'}${stack.traceFile ? `  (outage timelines: node tools/trace-sink/src/cli.ts outages --file ${stack.traceFile})` : ''}

Dev token (Authorization: Bearer …):
  ${d.token}

Try: curl -s -H "Authorization: Bearer $(node -p 'require("./.tether/stack.json").token')" ${d.api}/v1/jobs
An app that dies is restarted with backoff. Ctrl-C stops everything.`);
  // Runs until a signal: an app that dies is restarted by the stack (see restartLater in stack.ts).
} catch (error) {
  console.error(`npm start failed: ${(error as Error).message}`);
  exitCode = 1;
  await stop('start-up failed');
}
