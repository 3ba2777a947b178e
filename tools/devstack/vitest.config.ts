import { projectConfig } from './src/vitest-config.ts';

export default projectConfig(import.meta.dirname);
