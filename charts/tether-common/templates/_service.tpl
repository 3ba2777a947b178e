{{/*
The Service exposes the public port only: the admin port (probes, metrics) is never in a Service,
so Prometheus scrapes the pods directly (tether-common.podMonitor). Cloud load-balancer idle timeouts
are set by annotation (AWS in seconds, Azure in minutes, at least 4) below the apps' keep-alive
timeout; GCP takes it from a BackendConfig named in service.annotations.
*/}}
{{- define "tether-common.service" -}}
{{- if gt (int .Values.ports.public) 0 }}
{{- $idle := int .Values.service.loadBalancerIdleTimeoutSeconds }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "tether-common.fullname" . }}
  labels:
    {{- include "tether-common.labels" . | nindent 4 }}
  {{- if or .Values.service.annotations (gt $idle 0) }}
  annotations:
    {{- if gt $idle 0 }}
    service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout: {{ $idle | quote }}
    service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout: {{ max 4 (div (add $idle 59) 60) | quote }}
    {{- end }}
    {{- with .Values.service.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "tether-common.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
{{- end }}
{{- end -}}
