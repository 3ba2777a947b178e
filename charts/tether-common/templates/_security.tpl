{{/* Hardened defaults (restricted Pod Security Standard): non-root, seccomp, no token. */}}
{{- define "tether-common.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- with .Values.tcpKeepalive }}
{{- if .enabled }}
{{- /* Namespaced and in the safe set since Kubernetes 1.29: no kubelet allow-list needed. */}}
sysctls:
  - name: net.ipv4.tcp_keepalive_time
    value: {{ .timeSeconds | quote }}
  - name: net.ipv4.tcp_keepalive_intvl
    value: {{ .intervalSeconds | quote }}
  - name: net.ipv4.tcp_keepalive_probes
    value: {{ .probes | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "tether-common.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
