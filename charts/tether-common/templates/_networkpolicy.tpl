{{/*
Ingress: the public port from anywhere (the Service's clients) and the admin port only from the
peers in networkPolicy.adminFrom (Prometheus; kubelet probes come from the node and are allowed by
CNIs regardless). Egress: DNS, Postgres, Redis, the OTLP collector, and extraEgress.
*/}}
{{- define "tether-common.networkPolicy" -}}
{{- if .Values.networkPolicy.enabled }}
{{- $np := .Values.networkPolicy }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "tether-common.fullname" . }}
  labels:
    {{- include "tether-common.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "tether-common.selectorLabels" . | nindent 6 }}
  policyTypes: ["Ingress", "Egress"]
  ingress:
    {{- if gt (int .Values.ports.public) 0 }}
    - ports:
        - port: http
          protocol: TCP
    {{- end }}
    {{- if $np.adminFrom }}
    - from:
        {{- toYaml $np.adminFrom | nindent 8 }}
      ports:
        - port: admin
          protocol: TCP
    {{- end }}
  egress:
    - ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    {{- range $name := list "postgres" "redis" "otlp" }}
    {{- $rule := index $np.egress $name }}
    - ports:
        - port: {{ $rule.port }}
          protocol: TCP
      {{- with $rule.to }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- with $np.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
{{- end -}}
