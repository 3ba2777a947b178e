{{/*
Names. Every define is prefixed "tether-common." so it cannot collide with an app chart's own.
*/}}

{{/* The app's name: the chart name (api, worker, ws-gateway) unless nameOverride is set. */}}
{{- define "tether-common.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<app>, or fullnameOverride; a release named like the app is not repeated. */}}
{{- define "tether-common.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "tether-common.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tether-common.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The Secret with DATABASE_URL, REDIS_URL and AUTH_JWT_SECRET: the app's existingSecret, else the
umbrella's global.existingSecret, else the one the umbrella chart makes (<release>-tether).
*/}}
{{- define "tether-common.secretName" -}}
{{- $global := .Values.global | default dict -}}
{{- coalesce .Values.existingSecret $global.existingSecret (printf "%s-tether" .Release.Name) -}}
{{- end -}}

{{- define "tether-common.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tether-common.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag or repository@digest; the tag defaults to the chart's appVersion. */}}
{{- define "tether-common.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .appVersion .image.tag) -}}
{{- end -}}
{{- end -}}
