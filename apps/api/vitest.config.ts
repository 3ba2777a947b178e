import { projectConfig } from '../../vitest.shared.ts';

// One test file at a time: each starts its own Postgres (and main.test.ts the real process), and the
// machine is shared; in parallel they starve each other into start-up timeouts that test nothing.
export default projectConfig(import.meta.dirname, { fileParallelism: false });
