{{/*
The container environment. Names are the ones the apps read: @tether/config (DATABASE_URL,
REDIS_URL, PORT, ADMIN_PORT, AUTH_*, LOG_LEVEL, PG_*, REDIS_KEEPALIVE_MS), @tether/shutdown (SHUTDOWN_*), @tether/telemetry
(K8S_* from the downward API) and the OpenTelemetry SDK (OTEL_*). chart-verify checks them against
those libs. Secrets come from a Secret by secretKeyRef: the apps read DSNs from DATABASE_URL and
REDIS_URL only, no *_FILE variant exists yet.
*/}}
{{- define "tether-common.env" -}}
{{- $secret := include "tether-common.secretName" . -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: DATABASE_URL
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: REDIS_URL
{{- if gt (int .Values.ports.public) 0 }}
- name: PORT
  value: {{ .Values.ports.public | quote }}
{{- end }}
- name: ADMIN_PORT
  value: {{ .Values.ports.admin | quote }}
{{- if .Values.auth.jwksUrl }}
- name: AUTH_JWKS_URL
  value: {{ .Values.auth.jwksUrl | quote }}
{{- else if .Values.auth.enabled }}
- name: AUTH_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: AUTH_JWT_SECRET
{{- end }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- with .Values.connections }}
{{- /* Connection settings (@tether/config, applied by @tether/pooling); why each default: values.yaml. */}}
- name: PG_POOL_MAX
  value: {{ .postgres.poolMax | quote }}
- name: PG_KEEPALIVE_MS
  value: {{ .postgres.keepAliveMs | quote }}
- name: PG_IDLE_TIMEOUT_MS
  value: {{ .postgres.idleTimeoutMs | quote }}
- name: PG_MAX_LIFETIME_MS
  value: {{ .postgres.maxLifetimeMs | quote }}
- name: PG_MAX_LIFETIME_JITTER_MS
  value: {{ .postgres.maxLifetimeJitterMs | quote }}
- name: PG_STATEMENT_TIMEOUT_MS
  value: {{ .postgres.statementTimeoutMs | quote }}
- name: REDIS_KEEPALIVE_MS
  value: {{ .redis.keepAliveMs | quote }}
{{- end }}
- name: SHUTDOWN_DRAIN_DELAY_MS
  value: {{ .Values.lifecycle.drainDelayMs | quote }}
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ .Values.lifecycle.shutdownTimeoutMs | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ .Values.otel.serviceName | quote }}
{{- if .Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ .Values.otel.protocol | quote }}
{{- end }}
- name: OTEL_TRACES_SAMPLER
  value: parentbased_traceidratio
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .Values.otel.sampleRatio | quote }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_POD_UID
  valueFrom:
    fieldRef:
      fieldPath: metadata.uid
- name: K8S_NAMESPACE_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: K8S_NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: K8S_CONTAINER_NAME
  value: {{ include "tether-common.name" . }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
