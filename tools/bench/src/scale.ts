/**
 * `BENCH_SCALE=quick` (set by the test that runs every benchmark inside `npm test`) asks a benchmark
 * for tiny sizes: it must still run every row and write its report, but its numbers mean nothing.
 * The quick run gives each benchmark a few seconds (cli.ts `--timeout-s`) and names the one that
 * overran it.
 */
export function benchScale(): 'quick' | 'full' {
  return process.env['BENCH_SCALE'] === 'quick' ? 'quick' : 'full';
}
