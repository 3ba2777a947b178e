export {
  type BenchReport,
  benchDir,
  benchScale,
  type Comparison,
  type Measurement,
  type MetricComparison,
  percentile,
  writeReport,
} from './report.ts';
export {
  type ChildLoadOptions,
  emptyTally,
  fixedRate,
  fixedRateHttp,
  fixedRateInChild,
  type HttpRequestSpec,
  type Marks,
  measurement,
  type Op,
  saturate,
  type Tally,
} from './load.ts';
export { type LatencyCurve, latencyCurve } from './curve.ts';
export { renderReportPage, writeHtmlReport } from './html.ts';
