export {
  LoadBalancer,
  type LoadBalancerOptions,
  type EndpointSpec,
  type EndpointStatus,
  type LoadBalancerStats,
} from './load-balancer.ts';
export { Deployment, type DeploymentOptions, type PodContext, type RolloutReport } from './deployment.ts';
export { Pod, type PodSpec, type PodExit, type PodTermination, type TerminationOptions } from './pod.ts';
export { runLoad, type LoadOptions, type LoadReport, type RequestOutcome } from './load-generator.ts';
export { RolloutSimError } from './errors.ts';
export { HttpProber, probeOnce, type ProbeSettings } from './prober.ts';
export { KubeletPod, type KubeletPodOptions, type HttpGetProbe, type PreStopHook } from './kubelet.ts';
export {
  RollingDeployment,
  type RollingDeploymentOptions,
  type RollingPodTemplate,
  type RollingPodRecord,
} from './rolling-update.ts';
export { Timeline, type TimelineEvent, type TimelineEventKind } from './timeline.ts';
export {
  runWebSocketClients,
  type WebSocketClientsOptions,
  type WebSocketClientEvent,
  type WebSocketClientRecord,
  type WebSocketReport,
} from './websocket-clients.ts';
