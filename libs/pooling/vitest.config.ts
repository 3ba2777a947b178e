import { projectConfig } from '../../vitest.shared.ts';

// Fault tests restart servers and measure recovery times: run the files one after another so they
// do not compete for the machine's two cores.
export default projectConfig(import.meta.dirname, { fileParallelism: false });
