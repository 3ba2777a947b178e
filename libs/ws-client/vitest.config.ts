import { projectConfig } from '@tether/devstack/vitest';

export default projectConfig(import.meta.dirname);
