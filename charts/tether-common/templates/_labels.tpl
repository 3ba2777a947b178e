{{/* The app.kubernetes.io/* labels on every object. */}}
{{- define "tether-common.labels" -}}
helm.sh/chart: {{ include "tether-common.chart" . }}
{{ include "tether-common.selectorLabels" . }}
app.kubernetes.io/version: {{ default .Chart.AppVersion .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tether
{{- end -}}

{{/* The immutable subset a Deployment selects its pods by. */}}
{{- define "tether-common.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tether-common.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
