import { projectConfig } from '../../vitest.shared.ts';

// Files run one after another: the heartbeat tests measure detection times, and the browser test's
// Chromium would take the CPU from them on a shared 2-core machine.
export default projectConfig(import.meta.dirname, { fileParallelism: false });
