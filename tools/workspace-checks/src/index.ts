export {
  readOutcome,
  reportFileName,
  resultsDir,
  verdict,
  type ProjectOutcome,
  type Verdict,
} from './test-results.ts';
export { projectsWithVitest, selectProjects, type TestProject } from './test-projects.ts';
