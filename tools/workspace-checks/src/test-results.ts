/**
 * The contract between each project's vitest run and `npm test`'s closing line: every project with
 * a `test` target writes one JSON report named after the project; the summary expects exactly one
 * report per project it ran, so a project that crashed before reporting (or whose config failed to
 * load) is a failure with its name on the line, never a silent absence.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the reports go: `TETHER_TEST_RESULTS_DIR`, else `<workspace>/.cache/test-results`. */
export function resultsDir(workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.TETHER_TEST_RESULTS_DIR || join(workspaceRoot, '.cache', 'test-results');
}

/** `@tether/pooling` -> `tether-pooling.json` (the Nx project name is the package name). */
export function reportFileName(project: string): string {
  return `${project.replace(/^@/, '').replace(/[^A-Za-z0-9._-]+/g, '-')}.json`;
}

export type ProjectStatus = 'passed' | 'failed' | 'no-report' | 'invalid-report' | 'no-tests';

export interface ProjectOutcome {
  project: string;
  status: ProjectStatus;
  passed: number;
  /** Failed tests; a project that failed without a failing test (a crash, a suite that did not load) counts as 1. */
  failed: number;
  skipped: number;
  /** Why the project failed, for the closing line. */
  reason?: string;
  /** The failing tests by name, with the first line of each one's error (for the summary above the line). */
  failures?: FailedTest[];
}

export interface FailedTest {
  /** The test file, as the report names it (an absolute path). */
  file: string;
  /** Describe blocks and title, joined with ' > '. */
  test: string;
  /** The first line of the first failure message, at most 300 characters. */
  message: string;
}

/** The fields of vitest's JSON reporter this summary relies on. */
interface VitestJsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
  success: boolean;
  testResults?: {
    name?: string;
    message?: string;
    assertionResults?: { fullName?: string; title?: string; status?: string; failureMessages?: string[] }[];
  }[];
}

function firstLine(text: string | undefined): string {
  const line = ((text ?? '').split('\n').find((l) => l.trim() !== '') ?? '').trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/** The failing tests a report names; a file that failed to load counts as one, named by its error. */
function failedTests(report: VitestJsonReport): FailedTest[] {
  const failures: FailedTest[] = [];
  for (const file of Array.isArray(report.testResults) ? report.testResults : []) {
    const assertions = Array.isArray(file.assertionResults) ? file.assertionResults : [];
    for (const a of assertions) {
      if (a.status !== 'failed') continue;
      failures.push({
        file: file.name ?? '?',
        test: a.fullName ?? a.title ?? '?',
        message: firstLine(a.failureMessages?.[0]),
      });
    }
    if (assertions.every((a) => a.status !== 'failed') && file.message) {
      failures.push({ file: file.name ?? '?', test: '(the file)', message: firstLine(file.message) });
    }
  }
  return failures;
}

function parseReport(text: string): VitestJsonReport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const report = value as Record<string, unknown>;
  const counts = [
    'numPassedTests',
    'numFailedTests',
    'numPendingTests',
    'numTodoTests',
    'numFailedTestSuites',
  ];
  if (!counts.every((key) => Number.isInteger(report[key]))) return undefined;
  if (typeof report.success !== 'boolean') return undefined;
  return report as unknown as VitestJsonReport;
}

/** One outcome per expected project, whether or not its report exists. */
export function readOutcome(dir: string, project: string): ProjectOutcome {
  const file = join(dir, reportFileName(project));
  if (!existsSync(file)) {
    return {
      project,
      status: 'no-report',
      passed: 0,
      failed: 1,
      skipped: 0,
      reason: 'crashed before reporting (no results file: vitest or its config failed to load)',
    };
  }
  const report = parseReport(readFileSync(file, 'utf8'));
  if (!report) {
    return {
      project,
      status: 'invalid-report',
      passed: 0,
      failed: 1,
      skipped: 0,
      reason: 'crashed while reporting (results file is not a complete vitest JSON report)',
    };
  }
  const passed = report.numPassedTests;
  const skipped = report.numPendingTests + report.numTodoTests;
  if (report.numFailedTests > 0) {
    return {
      project,
      status: 'failed',
      passed,
      failed: report.numFailedTests,
      skipped,
      reason: `${report.numFailedTests} failed test${report.numFailedTests === 1 ? '' : 's'}`,
      failures: failedTests(report),
    };
  }
  if (!report.success || report.numFailedTestSuites > 0) {
    return {
      project,
      status: 'failed',
      passed,
      failed: 1,
      skipped,
      reason: `${report.numFailedTestSuites || 'a'} test file(s) failed to run`,
      failures: failedTests(report),
    };
  }
  if (passed === 0) {
    return { project, status: 'no-tests', passed, failed: 1, skipped, reason: 'ran no tests' };
  }
  return { project, status: 'passed', passed, failed: 0, skipped };
}

export interface Verdict {
  ok: boolean;
  passed: number;
  failed: number;
  skipped: number;
  outcomes: ProjectOutcome[];
  /** The closing line; `ok` is true exactly when it reports 0 failed. */
  line: string;
}

/**
 * Folds the outcomes into the closing line. `runnerFailure` says how the task runner failed, if it
 * did: when every project nevertheless reported success (a task that never started, an Nx error),
 * that is one more failure, named, so the line and the exit code cannot disagree.
 */
export function verdict(outcomes: ProjectOutcome[], runnerFailure?: string): Verdict {
  const failing = outcomes.filter((o) => o.status !== 'passed');
  const reasons = failing.map((o) => `${o.project}: ${o.reason}`);
  let failed = outcomes.reduce((sum, o) => sum + o.failed, 0);
  if (outcomes.length === 0) {
    failed += 1;
    reasons.push('no project with a test target was found');
  } else if (failing.length === 0 && runnerFailure) {
    failed += 1;
    reasons.push(`${runnerFailure} although every project reported success`);
  }
  const passed = outcomes.reduce((sum, o) => sum + o.passed, 0);
  const skipped = outcomes.reduce((sum, o) => sum + o.skipped, 0);
  const counts = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
  const projects = `${outcomes.length} project${outcomes.length === 1 ? '' : 's'}`;
  const line =
    failed === 0 ? `${counts} (${projects})` : `${counts} (${projects}; failing: ${reasons.join('; ')})`;
  return { ok: failed === 0, passed, failed, skipped, outcomes, line };
}
