{{/*
A Capstan component's Deployment: (dict "root" $ "component" "scheduler" "values" .Values.scheduler
"command" "scheduler" "port" <health or API port, 0 for none> "portName" "health" "probe" "http"|"tcp"|""
"metricsPort" <port Prometheus scrapes /metrics on, 0 for none>)
Every component runs the same image with the same config, keys and database URL, after the schema is current.
*/}}
{{- define "capstan.deployment" -}}
{{- $root := .root -}}
{{- $v := .values -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "capstan.fullname" $root }}-{{ .component }}
  labels:
    {{- include "capstan.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  replicas: {{ $v.replicas }}
  selector:
    matchLabels:
      {{- include "capstan.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "capstan.selectorLabels" (dict "root" $root "component" .component) | nindent 8 }}
      annotations:
        {{- /* Pods restart when capstan.yaml or the worker pod template change. */}}
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- if .metricsPort }}
        {{- with (include "capstan.prometheusAnnotations" (dict "root" $root "port" .metricsPort) | trim) }}{{ . | nindent 8 }}{{- end }}
        {{- end }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "capstan.serviceAccountName" (dict "root" $root "component" .component "values" $v) }}
      {{- include "capstan.podSecurityContext" $root | nindent 6 }}
      {{- with (include "capstan.imagePullSecrets" $root | trim) }}{{ . | nindent 6 }}{{- end }}
      {{- with (include "capstan.placement" (dict "root" $root "values" $v) | trim) }}{{ . | nindent 6 }}{{- end }}
      initContainers:
        {{- include "capstan.initContainers" $root | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ include "capstan.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          {{- include "capstan.containerSecurityContext" $root | nindent 10 }}
          args: [{{ .command | quote }}]
          env:
            {{- include "capstan.env" $root | nindent 12 }}
            {{- with $v.env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- if .port }}
          ports:
            - name: {{ .portName }}
              containerPort: {{ .port }}
              protocol: TCP
          {{- end }}
          {{- if eq .probe "http" }}
          {{- include "capstan.healthProbes" (dict "probes" $v.probes "port" .portName) | nindent 10 }}
          {{- else if eq .probe "tcp" }}
          livenessProbe:
            tcpSocket: { port: {{ .portName }} }
            {{- toYaml $v.probes.liveness | nindent 12 }}
          readinessProbe:
            tcpSocket: { port: {{ .portName }} }
            {{- toYaml $v.probes.readiness | nindent 12 }}
          {{- end }}
          {{- with $v.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          volumeMounts:
            {{- include "capstan.volumeMounts" $root | nindent 12 }}
        {{- if eq $root.Values.dags.delivery "gitSync" }}
        {{- include "capstan.gitSyncContainer" (dict "root" $root "oneTime" false) | nindent 8 }}
        {{- end }}
      volumes:
        {{- include "capstan.volumes" $root | nindent 8 }}
{{- if $v.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "capstan.fullname" $root }}-{{ .component }}
  labels:
    {{- include "capstan.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  maxUnavailable: {{ $v.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "capstan.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
{{- end }}
{{- end -}}
