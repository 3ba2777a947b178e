/** `chart-verify live --help`, kept apart so that printing it loads no Kubernetes client. */
export const liveHelp = `chart-verify live <chart-dir> --context NAME [options]

Installs or upgrades the chart with helm in the cluster of kubeconfig context NAME, watches the
release's Deployments, Pods and EndpointSlices with informers, starts an in-cluster load Job
against the Service, restarts the Deployment (kubectl rollout restart) --rollouts times, and
checks that every old pod's endpoint left rotation (EndpointSlice ready: false / terminating)
before the pod stopped serving (SIGTERM = deletion + preStop, or its exit). It refuses to run
without --context, whatever the current context is.

  --context NAME        kubeconfig context to use (required)
  --kubeconfig FILE     kubeconfig file                       (default $KUBECONFIG or ~/.kube/config)
  -n, --namespace NS    namespace (created by helm if missing) (default chart-verify)
  --release NAME        helm release name                     (default chart-verify)
  -f, --values FILE     values file for helm (repeatable)
  --set KEY=VALUE       value for helm (repeatable)
  --skip-install        use the release as it is installed
  --deployment NAME     the Deployment to roll                (default: the release's only one)
  --service NAME        the Service to load                   (default: the one selecting it)
  --path PATH           request path                          (default /)
  --rate N              requests per second, 1-500            (default 50)
  --duration DUR        load duration, at most 15m            (default 120s)
  --rollouts N          rollout restarts, 1-10                (default 1)
  --load-image IMAGE    image with Node >= 18 for the load Job (default node:24-bookworm-slim)
  --timeout DUR         wait for each rollout at most         (default 5m)
  --json FILE           also write the JSON report to FILE
  -h, --help            this text

A failed request is a connection error, a 10 s timeout or a 5xx (a 401 or 404 is the app answering).
exit status: 0 passed, 1 a failed request, an endpoint that left rotation late or a pod killed
after its grace period, 2 bad input (no --context, unknown context, bad option).`;
