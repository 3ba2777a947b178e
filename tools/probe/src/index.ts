export { probeIdle, type Observation, type ProbeOptions, type ProbeResult } from './probe.ts';
export { recommend, type Recommendation } from './recommend.ts';
export { formatTable, toJson, verdict } from './report.ts';
export { parseTarget, ProbeInputError, type Outcome, type Target } from './target.ts';
