export { brokenResult, runScenario, type Scenario, type ScenarioResult } from './scenario.ts';
export { scenarios } from './scenarios/index.ts';
export { sizeFor, type Size } from './size.ts';
export { ChaosStack } from './stack.ts';
export { renderHtml } from './html.ts';
export { runPassed, writeReports } from './report.ts';
