import { projectConfig } from '../../vitest.shared.ts';

// One file at a time: each file runs its own Postgres, Redis and several worker processes, and the
// fault tests (kills, restarts) measure recovery times that a machine loaded by the other files
// would stretch past their bounds.
export default projectConfig(import.meta.dirname, { fileParallelism: false });
