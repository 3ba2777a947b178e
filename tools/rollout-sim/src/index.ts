export {
  LoadBalancer,
  type LoadBalancerOptions,
  type EndpointSpec,
  type EndpointStatus,
  type LoadBalancerStats,
} from './load-balancer.ts';
export { Deployment, type DeploymentOptions, type PodContext, type RolloutReport } from './deployment.ts';
export { Pod, type PodSpec, type PodExit, type PodTermination, type TerminationOptions } from './pod.ts';
export { runLoad, type LoadOptions, type LoadReport } from './load-generator.ts';
export { RolloutSimError } from './errors.ts';
