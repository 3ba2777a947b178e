{{/*
The lifecycle budget (docs/architecture.md, "Lifecycle budget"), the same rule as
@tether/shutdown's checkLifecycleBudget:

  terminationGracePeriodSeconds >= preStopSleepSeconds + drainDelayMs + shutdownTimeoutMs + margin

The kubelet's grace period includes the preStop hook and SIGKILL comes when it runs out, so an app
whose own deadline lies beyond it is killed mid-drain.
*/}}

{{/* Seconds the budget needs, rounded up. */}}
{{- define "tether-common.lifecycle.requiredSeconds" -}}
{{- $l := .Values.lifecycle -}}
{{- $requiredMs := add (mul (int $l.preStopSleepSeconds) 1000) (int $l.drainDelayMs) (int $l.shutdownTimeoutMs) (mul (int $l.marginSeconds) 1000) -}}
{{- div (add $requiredMs 999) 1000 -}}
{{- end -}}

{{/* The grace period: the one set, after checking it, or the budget's sum. */}}
{{- define "tether-common.lifecycle.gracePeriodSeconds" -}}
{{- $l := .Values.lifecycle -}}
{{- $required := include "tether-common.lifecycle.requiredSeconds" . | int -}}
{{- if eq (int $l.terminationGracePeriodSeconds) 0 -}}
{{- $required -}}
{{- else if lt (int $l.terminationGracePeriodSeconds) $required -}}
{{- fail (printf "lifecycle budget broken: lifecycle.terminationGracePeriodSeconds (%d s) must be >= lifecycle.preStopSleepSeconds (%d s) + lifecycle.drainDelayMs (%d ms) + lifecycle.shutdownTimeoutMs (%d ms) + lifecycle.marginSeconds (%d s) = %d s; raise the grace period (or set it to 0 to compute it) or lower the others" (int $l.terminationGracePeriodSeconds) (int $l.preStopSleepSeconds) (int $l.drainDelayMs) (int $l.shutdownTimeoutMs) (int $l.marginSeconds) $required) -}}
{{- else -}}
{{- int $l.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end -}}

{{/*
preStop: keep serving while endpoint removal propagates. The native sleep action is on by default
from Kubernetes 1.30 (GA 1.34) and needs nothing in the image; older clusters get an exec of
`sleep`, which the image must contain (node:24-*-slim images do).
*/}}
{{- define "tether-common.lifecycle.preStop" -}}
{{- $seconds := int .Values.lifecycle.preStopSleepSeconds -}}
{{- if gt $seconds 0 -}}
preStop:
{{- if semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version }}
  sleep:
    seconds: {{ $seconds }}
{{- else }}
  exec:
    command: ["sleep", "{{ $seconds }}"]
{{- end }}
{{- end -}}
{{- end -}}
