export { type BenchReport, type Comparison, type Measurement, percentile, writeReport } from './report.ts';
