{{/*
The KubernetesExecutor's base worker pod (kubernetesExecutor.podTemplateFile): the executor sets the base
container's command, the try's token, name, labels and namespace; this gives it the image, service account,
volumes (config, DAGs, logs), placement and resources. Worker pods get no database credentials.
*/}}
{{- define "capstan.workerPodTemplate" -}}
{{- $w := .Values.workers -}}
apiVersion: v1
kind: Pod
metadata:
  labels:
    {{- include "capstan.selectorLabels" (dict "root" . "component" "worker") | nindent 4 }}
  {{- with $w.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "capstan.serviceAccountName" (dict "root" . "component" "worker" "values" $w) }}
  restartPolicy: Never
  {{- include "capstan.podSecurityContext" . | nindent 2 }}
  {{- with (include "capstan.imagePullSecrets" . | trim) }}{{ . | nindent 2 }}{{- end }}
  {{- with (include "capstan.placement" (dict "root" . "values" $w) | trim) }}{{ . | nindent 2 }}{{- end }}
  {{- if eq .Values.dags.delivery "gitSync" }}
  initContainers:
    {{- include "capstan.gitSyncContainer" (dict "root" . "oneTime" true) | nindent 4 }}
  {{- end }}
  containers:
    - name: base
      image: {{ include "capstan.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      {{- include "capstan.containerSecurityContext" . | nindent 6 }}
      env:
        {{- include "capstan.ownedEnv" . | nindent 8 }}
        {{- with $w.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $w.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        {{- include "capstan.volumeMounts" . | nindent 8 }}
  volumes:
    {{- include "capstan.volumes" . | nindent 4 }}
{{- end -}}
