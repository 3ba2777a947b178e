{{/*
Probes on the named admin port, paths from docs/architecture.md ("Admin endpoints"). Liveness never
checks dependencies; readiness turns 503 on SIGTERM and keeps answering during the drain; startup
covers migrations checks and pool warm-up so liveness does not kill a slow start.
*/}}
{{- define "tether-common.probes" -}}
{{- $p := .Values.probes -}}
startupProbe:
  httpGet:
    path: /startupz
    port: admin
  periodSeconds: {{ $p.startup.periodSeconds }}
  timeoutSeconds: {{ $p.startup.timeoutSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
readinessProbe:
  httpGet:
    path: /readyz
    port: admin
  periodSeconds: {{ $p.readiness.periodSeconds }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
  successThreshold: 1
livenessProbe:
  httpGet:
    path: /livez
    port: admin
  periodSeconds: {{ $p.liveness.periodSeconds }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
{{- end -}}
