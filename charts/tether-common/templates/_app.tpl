{{/*
Everything an app chart renders: `{{ include "tether-common.app" . }}` is its only template.
Validation runs first so a broken budget or a missing image fails before any object is emitted.
*/}}
{{- define "tether-common.app" -}}
{{- include "tether-common.validate" . -}}
{{- range $kind := list "serviceAccount" "deployment" "service" "pdb" "hpa" "networkPolicy" "podMonitor" }}
{{- $doc := include (printf "tether-common.%s" $kind) $ | trim }}
{{- if $doc }}
---
{{ $doc }}
{{- end }}
{{- end }}
{{- end -}}
