{{- define "tether-common.deployment" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "tether-common.fullname" . }}
  labels:
    {{- include "tether-common.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "tether-common.selectorLabels" . | nindent 6 }}
  strategy:
    # Never below the desired count during a rollout: a new pod must be ready before an old one drains.
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "tether-common.labels" . | nindent 8 }}
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "tether-common.serviceAccountName" . }}
      automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
      terminationGracePeriodSeconds: {{ include "tether-common.lifecycle.gracePeriodSeconds" . }}
      securityContext:
        {{- include "tether-common.podSecurityContext" . | nindent 8 }}
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if .Values.topologySpread.enabled }}
      topologySpreadConstraints:
        {{- range $key := list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
        - topologyKey: {{ $key }}
          maxSkew: {{ $.Values.topologySpread.maxSkew }}
          whenUnsatisfiable: {{ $.Values.topologySpread.whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "tether-common.selectorLabels" $ | nindent 14 }}
          matchLabelKeys:
            - pod-template-hash
        {{- end }}
      {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ include "tether-common.name" . }}
          image: {{ include "tether-common.image" (dict "image" .Values.image "appVersion" .Chart.AppVersion) | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            {{- if gt (int .Values.ports.public) 0 }}
            - name: http
              containerPort: {{ .Values.ports.public }}
              protocol: TCP
            {{- end }}
            - name: admin
              containerPort: {{ .Values.ports.admin }}
              protocol: TCP
          env:
            {{- include "tether-common.env" . | nindent 12 }}
          {{- include "tether-common.probes" . | nindent 10 }}
          {{- with (include "tether-common.lifecycle.preStop" .) }}
          lifecycle:
            {{- . | nindent 12 }}
          {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- include "tether-common.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            # The root filesystem is read-only; Node and its libs may still want a scratch directory.
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
{{- end -}}
