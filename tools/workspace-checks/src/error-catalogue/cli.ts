import { cataloguePath, writeCatalogue } from './render.ts';

// `node tools/workspace-checks/src/error-catalogue/cli.ts`: regenerates docs/errors.md.
const changed = await writeCatalogue();
console.log(changed ? `wrote ${cataloguePath}` : `${cataloguePath} is up to date`);
