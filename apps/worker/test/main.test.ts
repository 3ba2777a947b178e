import { describeAppContract } from '@tether/devstack/app-contract';

describeAppContract('worker', {
  entry: new URL('../src/main.ts', import.meta.url).pathname,
});
