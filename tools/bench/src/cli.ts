/**
 * `npm run bench [-- [--html-only] [--timeout-s <s>] [<name>...]]`: runs the benchmarks in this
 * folder (`<name>.bench.ts`, all of them by default), one after the other in fresh processes so
 * they don't disturb each other's measurements; each starts what it needs and writes
 * `<name>.json`. Then it writes one self-contained HTML report (`index.html`) from every JSON in the
 * bench directory (`.tether/bench/`, or `BENCH_DIR`) and prints a summary table across benchmarks.
 *
 * - `--html-only`: run nothing, redraw the page and the table from the JSON already there.
 * - `--timeout-s`: stop a benchmark that runs longer (default 1800, or 120 with `BENCH_SCALE=quick`).
 *
 * Exits 1 when a benchmark failed, overran or wrote no report (missed goals do not fail the run: they
 * are results, marked in the table and the page).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHtmlReport } from './html.ts';
import { benchDir, benchScale } from './report.ts';
import { consoleSummary, RUN_FILE } from './results.ts';
import { type BenchRun, readRunRecord, type RunRecord, runBench, stopCurrent } from './runner.ts';

const usage = 'usage: npm run bench -- [--html-only] [--timeout-s <seconds>] [<name>...]';
const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort();

const wanted: string[] = [];
let htmlOnly = false;
let timeoutS = benchScale() === 'quick' ? 120 : 1_800;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i] as string;
  if (arg === '--html-only') htmlOnly = true;
  else if (arg === '--timeout-s' && /^\d+$/.test(args[i + 1] ?? '')) timeoutS = Number(args[++i]);
  else if (arg.startsWith('-')) {
    console.error(`${usage}\nunexpected option: ${arg}`);
    process.exit(2);
  } else wanted.push(arg);
}
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}

const dir = benchDir();
mkdirSync(dir, { recursive: true });
const runFile = join(dir, RUN_FILE);
let run: RunRecord | undefined;

if (htmlOnly) {
  run = readRunRecord(runFile);
} else {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stopCurrent();
      process.exit(130);
    });
  }
  run = { startedAt: new Date().toISOString(), scale: benchScale(), benches: [] };
  for (const name of wanted.length > 0 ? wanted : available) {
    console.log(`\n=== ${name} (${benchScale()} scale) ===`);
    const result: BenchRun = await runBench(name, join(here, `${name}.bench.ts`), {
      dir,
      timeoutMs: timeoutS * 1000,
      env: process.env,
    });
    if (result.status !== 'ok') console.error(`bench ${name}: ${result.status}: ${result.message}`);
    run.benches.push(result);
  }
  run.finishedAt = new Date().toISOString();
  writeFileSync(runFile, `${JSON.stringify(run, null, 2)}\n`);
}

const { path, rows } = writeHtmlReport(dir, run);
console.log('\nSummary: every figure against its same-run baseline');
if (rows.length > 0) console.table(consoleSummary(rows));
else console.log(`(no reports in ${dir})`);
const failed = (run?.benches ?? []).filter((b) => b.status !== 'ok');
for (const b of failed) console.error(`FAILED ${b.name}: ${b.status}: ${b.message}`);
console.log(`report: ${path}`);
process.exit(failed.length === 0 || htmlOnly ? 0 : 1);
