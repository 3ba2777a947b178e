import { describeAppContract } from '@tether/devstack/app-contract';

describeAppContract('worker (placeholder until its issue lands)', {
  entry: new URL('../src/main.ts', import.meta.url).pathname,
});
