import { projectConfig } from '../../vitest.shared.ts';

// Files run one after another: the rolling-restart test measures a request rate on a shared 2-core machine.
export default projectConfig(import.meta.dirname, { fileParallelism: false });
