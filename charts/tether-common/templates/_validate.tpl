{{/*
Refusals the schema cannot express. Each message names the value and the fix, like the libs'
option errors name the field.
*/}}
{{- define "tether-common.validate" -}}
{{- if not .Values.image.repository -}}
{{- fail (printf "image.repository must not be empty: add --set %simage.repository=<registry>/<image> to the command" (include "tether-common.valuePrefix" .)) -}}
{{- end -}}
{{- if and (not .Values.image.tag) (not .Values.image.digest) (not .Chart.AppVersion) -}}
{{- fail "image.tag or image.digest must be set: the chart has no appVersion to default to" -}}
{{- end -}}
{{- $idle := int .Values.service.loadBalancerIdleTimeoutSeconds -}}
{{- $keepAlive := include "tether-common.http.keepAliveTimeoutSeconds" . | int -}}
{{- if and (gt (int .Values.ports.public) 0) (gt $idle 0) (ge $idle $keepAlive) -}}
{{- fail (printf "service.loadBalancerIdleTimeoutSeconds (%d s) must be below the apps' HTTP keep-alive timeout (%d s, @tether/shutdown applyHttpServerDefaults): the load balancer would reuse a connection the app already closed and answer 502" $idle $keepAlive) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- $_ := include "tether-common.lifecycle.gracePeriodSeconds" . -}}
{{- end -}}

{{/* "api." when rendered as a subchart of the umbrella, "" standalone: the --set path to suggest. */}}
{{- define "tether-common.valuePrefix" -}}
{{- if .Values.global.umbrella -}}{{ .Chart.Name }}.{{- end -}}
{{- end -}}

{{/*
The apps' HTTP keep-alive timeout: @tether/shutdown's applyHttpServerDefaults sets 65 s, above the
AWS ALB's 60 s idle timeout (no environment variable changes it; a test pins the two together).
*/}}
{{- define "tether-common.http.keepAliveTimeoutSeconds" -}}65{{- end -}}
