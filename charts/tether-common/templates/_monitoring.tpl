{{/*
A PodMonitor, not a ServiceMonitor: the admin port with /metrics is in no Service by design.
Rendered only when the cluster serves monitoring.coreos.com/v1 (the Prometheus Operator).
*/}}
{{- define "tether-common.podMonitor" -}}
{{- if and .Values.metrics.podMonitor.enabled (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PodMonitor") }}
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: {{ include "tether-common.fullname" . }}
  labels:
    {{- include "tether-common.labels" . | nindent 4 }}
    {{- with .Values.metrics.podMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "tether-common.selectorLabels" . | nindent 6 }}
  podMetricsEndpoints:
    - port: admin
      path: /metrics
      interval: {{ .Values.metrics.podMonitor.interval }}
{{- end }}
{{- end -}}
