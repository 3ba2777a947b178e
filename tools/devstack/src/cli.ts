/**
 * `npm start` = `node tools/devstack/src/cli.ts up [--free-ports]`: the whole platform locally.
 * Ctrl-C or SIGTERM stops everything through the apps' graceful path.
 */
import { LocalStack } from './stack.ts';

const [command = 'up', ...flags] = process.argv.slice(2);
const known = new Set(['--free-ports']);
const unknown = flags.filter((f) => !known.has(f));
if (command !== 'up' || unknown.length > 0) {
  console.error(`usage: node tools/devstack/src/cli.ts up [--free-ports]${unknown.length ? ` (unknown: ${unknown.join(' ')})` : ''}`);
  process.exit(2);
}

const stack = new LocalStack({ freePorts: flags.includes('--free-ports') });
let exitCode = 0;
const stop = async (why: string) => {
  console.log(`\nstopping (${why})…`);
  const started = Date.now();
  await stack.down();
  console.log(`stopped in ${Date.now() - started} ms`);
  process.exit(exitCode);
};
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));

try {
  const d = await stack.up();
  console.log(`
Tether is up.
  API          ${d.api}        (OpenAPI: ${d.api}/openapi.json)
  WebSocket    ${d.ws}
  admin        api ${d.admin.api}  worker ${d.admin.worker}  ws-gateway ${d.admin.wsGateway}
  Postgres     ${d.databaseUrl.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')}
  Redis        ${d.redisUrl}
  stack file   .tether/stack.json (has the credentials)

Dev token (Authorization: Bearer …):
  ${d.token}

Try: curl -s -H "Authorization: Bearer $(node -p 'require("./.tether/stack.json").token')" ${d.api}/v1/jobs
Ctrl-C stops everything.`);
  const why = await stack.unexpectedExit;
  exitCode = 1;
  await stop(why);
} catch (error) {
  console.error(`npm start failed: ${(error as Error).message}`);
  exitCode = 1;
  await stop('start-up failed');
}
