{{/* Names ---------------------------------------------------------------------------------------------- */}}

{{- define "capstan.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "capstan.labels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels that select one component's pods: (dict "root" $ "component" "scheduler"). */}}
{{- define "capstan.selectorLabels" -}}
app.kubernetes.io/name: {{ default .root.Chart.Name .root.Values.nameOverride }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "capstan.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Service account of a component: (dict "root" $ "component" "scheduler" "values" .Values.scheduler). */}}
{{- define "capstan.serviceAccountName" -}}
{{- if .values.serviceAccount.create -}}
{{- default (printf "%s-%s" (include "capstan.fullname" .root) .component) .values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "capstan.apiServerUrl" -}}
{{- printf "http://%s-api-server.%s.svc:%v" (include "capstan.fullname" .) .Release.Namespace .Values.apiServer.service.port -}}
{{- end -}}

{{/* The folder DAG files are read from in every pod. */}}
{{- define "capstan.dagsFolder" -}}
{{- if eq .Values.dags.delivery "gitSync" -}}
{{- trimSuffix "/" (printf "/opt/capstan/dags/repo/%s" (trimPrefix "/" .Values.dags.gitSync.subPath)) -}}
{{- else -}}
/opt/capstan/dags
{{- end -}}
{{- end -}}

{{/* Secrets --------------------------------------------------------------------------------------------- */}}

{{- define "capstan.keysSecretName" -}}
{{- default (printf "%s-keys" (include "capstan.fullname" .)) .Values.keys.existingSecret -}}
{{- end -}}

{{- define "capstan.databaseSecretName" -}}
{{- if .Values.postgresql.enabled -}}
{{- printf "%s-database" (include "capstan.fullname" .) -}}
{{- else -}}
{{- .Values.database.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "capstan.databaseSecretKey" -}}
{{- if .Values.postgresql.enabled -}}url{{- else -}}{{ .Values.database.existingSecretKey }}{{- end -}}
{{- end -}}

{{- define "capstan.adminSecretName" -}}
{{- default (printf "%s-admin" (include "capstan.fullname" .)) .Values.createUserJob.existingSecret -}}
{{- end -}}

{{/*
A secret value that is generated once and then kept: the value given in values, else the one already stored
in the live Secret (helm install/upgrade look it up; helm template sees no cluster and generates), else a new
random one. (dict "root" $ "secret" <name> "key" <data key> "given" <value or ""> "generate" <func output>)
*/}}
{{- define "capstan.stableSecretValue" -}}
{{- if .given -}}
{{- .given | b64enc -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- .generate | b64enc -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Pod parts --------------------------------------------------------------------------------------------- */}}

{{/* nodeSelector, affinity, tolerations: the component's own, else the chart-wide ones. (dict "root" $ "values" …) */}}
{{- define "capstan.placement" -}}
{{- with (default .root.Values.nodeSelector .values.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default .root.Values.affinity .values.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default .root.Values.tolerations .values.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "capstan.podSecurityContext" -}}
securityContext:
  runAsUser: {{ .Values.securityContext.runAsUser }}
  runAsGroup: {{ .Values.securityContext.runAsGroup }}
  fsGroup: {{ .Values.securityContext.fsGroup }}
  runAsNonRoot: {{ .Values.securityContext.runAsNonRoot }}
{{- end -}}

{{- define "capstan.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  capabilities:
    drop: [ALL]
{{- end -}}

{{- define "capstan.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Settings the chart owns, as environment variables (they win over capstan.yaml). */}}
{{- define "capstan.ownedEnv" -}}
- name: CAPSTAN_CONFIG
  value: /opt/capstan/config/capstan.yaml
- name: CAPSTAN__CORE__DAGS_FOLDER
  value: {{ include "capstan.dagsFolder" . | quote }}
- name: CAPSTAN__CORE__LOAD_EXAMPLES
  value: {{ dig "core" "loadExamples" false .Values.config | quote }}
- name: CAPSTAN__LOGGING__BASE_LOG_FOLDER
  value: /opt/capstan/logs
{{- end -}}

{{/* What a process that opens the metadata database needs: the owned settings, the keys and the DB URL. */}}
{{- define "capstan.env" -}}
{{ include "capstan.ownedEnv" . }}
- name: CAPSTAN__API__HOST
  value: "0.0.0.0"
- name: CAPSTAN__API__PORT
  value: {{ .Values.apiServer.port | quote }}
- name: CAPSTAN__DATABASE__URL
  valueFrom:
    secretKeyRef:
      name: {{ include "capstan.databaseSecretName" . }}
      key: {{ include "capstan.databaseSecretKey" . }}
- name: CAPSTAN__CORE__FERNET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "capstan.keysSecretName" . }}
      key: fernet-key
- name: CAPSTAN__API__SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "capstan.keysSecretName" . }}
      key: secret-key
{{- end -}}

{{/* Volumes every pod has: the config, the DAGs (pvc or git-sync) and the task logs. */}}
{{- define "capstan.volumes" -}}
- name: config
  configMap:
    name: {{ include "capstan.fullname" . }}-config
{{- if eq .Values.dags.delivery "pvc" }}
- name: dags
  persistentVolumeClaim:
    claimName: {{ .Values.dags.persistence.existingClaim }}
    readOnly: {{ .Values.dags.persistence.readOnly }}
{{- else if eq .Values.dags.delivery "gitSync" }}
- name: dags
  emptyDir: {}
{{- if .Values.dags.gitSync.sshKeySecret }}
- name: git-ssh-key
  secret:
    secretName: {{ .Values.dags.gitSync.sshKeySecret }}
    defaultMode: 0400
{{- end }}
{{- end }}
{{- if .Values.logs.persistence.enabled }}
- name: logs
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-logs" (include "capstan.fullname" .)) .Values.logs.persistence.existingClaim }}
{{- else }}
- name: logs
  emptyDir: {}
{{- end }}
{{- end -}}

{{- define "capstan.volumeMounts" -}}
- name: config
  mountPath: /opt/capstan/config
  readOnly: true
{{- if ne .Values.dags.delivery "image" }}
- name: dags
  mountPath: /opt/capstan/dags
  {{- if and (eq .Values.dags.delivery "pvc") .Values.dags.persistence.subPath }}
  subPath: {{ .Values.dags.persistence.subPath }}
  {{- end }}
  readOnly: true
{{- end }}
- name: logs
  mountPath: /opt/capstan/logs
{{- end -}}

{{/* git-sync containers: (dict "root" $ "oneTime" true) for the init container, false for the sidecar. */}}
{{- define "capstan.gitSyncContainer" -}}
{{- $g := .root.Values.dags.gitSync -}}
- name: {{ if .oneTime }}git-sync-init{{ else }}git-sync{{ end }}
  image: {{ printf "%s:%s" $g.image.repository $g.image.tag }}
  imagePullPolicy: {{ $g.image.pullPolicy }}
  {{- include "capstan.containerSecurityContext" .root | nindent 2 }}
  env:
    - { name: GITSYNC_REPO, value: {{ $g.repo | quote }} }
    - { name: GITSYNC_REF, value: {{ $g.ref | quote }} }
    - { name: GITSYNC_DEPTH, value: {{ $g.depth | quote }} }
    - { name: GITSYNC_PERIOD, value: {{ $g.period | quote }} }
    - { name: GITSYNC_ROOT, value: /git }
    - { name: GITSYNC_LINK, value: repo }
    - { name: GITSYNC_ONE_TIME, value: {{ .oneTime | quote }} }
    {{- if $g.sshKeySecret }}
    - { name: GITSYNC_SSH_KEY_FILE, value: /etc/git-secret/gitSshKey }
    {{- end }}
  {{- if $g.credentialsSecret }}
  envFrom:
    - secretRef:
        name: {{ $g.credentialsSecret }}
  {{- end }}
  {{- with $g.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - { name: dags, mountPath: /git }
    {{- if $g.sshKeySecret }}
    - { name: git-ssh-key, mountPath: /etc/git-secret, readOnly: true }
    {{- end }}
{{- end -}}

{{/* Waits until `capstan db check` sees the current schema, so nothing runs against an old one. */}}
{{- define "capstan.waitForMigrations" -}}
- name: wait-for-migrations
  image: {{ include "capstan.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- include "capstan.containerSecurityContext" . | nindent 2 }}
  command: ["/bin/sh", "-c"]
  args:
    - until capstan db check >/dev/null; do echo "waiting for the metadata database schema (capstan db migrate)"; sleep 5; done
  env:
    {{- include "capstan.env" . | nindent 4 }}
  volumeMounts:
    - { name: config, mountPath: /opt/capstan/config, readOnly: true }
{{- end -}}

{{/* Init containers of a component: git-sync's first clone, then the wait for the schema. */}}
{{- define "capstan.initContainers" -}}
{{- if eq .Values.dags.delivery "gitSync" -}}
{{ include "capstan.gitSyncContainer" (dict "root" . "oneTime" true) }}
{{ end -}}
{{ include "capstan.waitForMigrations" . }}
{{- end -}}

{{- define "capstan.prometheusAnnotations" -}}
{{- if .root.Values.metrics.prometheusAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/* Liveness and readiness on GET /health of `port`: (dict "probes" .Values.scheduler.probes "port" "health") */}}
{{- define "capstan.healthProbes" -}}
livenessProbe:
  httpGet: { path: /health, port: {{ .port }} }
  {{- toYaml .probes.liveness | nindent 2 }}
readinessProbe:
  httpGet: { path: /health, port: {{ .port }} }
  {{- toYaml .probes.readiness | nindent 2 }}
{{- end -}}
