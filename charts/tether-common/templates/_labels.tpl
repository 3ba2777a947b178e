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

{{/* Labels for the umbrella chart's own objects (Secret, migration Job, rules, dashboard, tests). */}}
{{- define "tether-common.releaseLabels" -}}
helm.sh/chart: {{ include "tether-common.chart" . }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tether
{{- end -}}
