import { projectConfig } from '@tether/devstack/vitest';

// Fault tests restart servers and measure recovery times: run the files one after another so they
// do not compete for the machine's two cores.
export default projectConfig(import.meta.dirname, { fileParallelism: false });
