{{/*
Chart name, truncated to the 63 characters DNS names allow.
*/}}
{{- define "streamgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: release name, plus the chart name unless the release already contains it.
*/}}
{{- define "streamgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of the admin Service (fullname + "-admin", still within 63 characters).
*/}}
{{- define "streamgate.adminServiceName" -}}
{{- printf "%s-admin" (include "streamgate.fullname" . | trunc 57 | trimSuffix "-") }}
{{- end }}

{{- define "streamgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: stable for the life of the release (Deployment selectors are immutable).
*/}}
{{- define "streamgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "streamgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "streamgate.labels" -}}
helm.sh/chart: {{ include "streamgate.chart" . }}
{{ include "streamgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: streamgate
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "streamgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "streamgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Secret whose keys become environment variables.
*/}}
{{- define "streamgate.secretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else }}
{{- include "streamgate.fullname" . }}
{{- end }}
{{- end }}

{{- define "streamgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
topologySpreadConstraints, each given the pod selector labels when it has no labelSelector.
*/}}
{{- define "streamgate.topologySpreadConstraints" -}}
{{- $constraints := list }}
{{- range .Values.topologySpreadConstraints }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" (include "streamgate.selectorLabels" $ | fromYaml)) }}
{{- end }}
{{- $constraints = append $constraints $c }}
{{- end }}
{{- toYaml $constraints }}
{{- end }}

{{/*
Render-time checks. Included (renders nothing) from the Deployment template.
*/}}
{{- define "streamgate.validate" -}}
{{- $config := .Values.config | default dict }}
{{- $session := get $config "session" | default dict }}
{{- $secrets := .Values.secrets | default dict }}
{{- if and (has "${STREAMGATE_SESSION_SECRETS}" (get $session "secrets" | default list)) (not .Values.existingSecret) (not (get $secrets "STREAMGATE_SESSION_SECRETS")) }}
{{- fail "secrets.STREAMGATE_SESSION_SECRETS is empty: every replica needs the same grant key. Set it (comma-separated, newest first, each >= 32 characters), e.g. --set-string secrets.STREAMGATE_SESSION_SECRETS=\"$(openssl rand -base64 48 | tr -d '\\n')\", or use existingSecret." }}
{{- end }}
{{- $drainMs := 10000 }}
{{- with get $config "shutdown" }}
{{- with get . "drainTimeoutMs" }}
{{- $drainMs = . }}
{{- end }}
{{- end }}
{{- $drainS := div (int $drainMs) 1000 }}
{{- $preStop := int .Values.preStopSleepSeconds }}
{{- $grace := int .Values.terminationGracePeriodSeconds }}
{{- if lt $grace (add $preStop $drainS 5) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be >= preStopSleepSeconds (%d) + config.shutdown.drainTimeoutMs/1000 (%d) + 5, or pods are killed mid-drain" $grace $preStop $drainS) }}
{{- end }}
{{- if not (has .Values.mode (list "deployment" "sidecar")) }}
{{- fail (printf "mode must be \"deployment\" or \"sidecar\", got %q" .Values.mode) }}
{{- end }}
{{- $store := get $config "store" | default dict }}
{{- $replicas := int (include "streamgate.replicas" .) }}
{{- if and (eq (get $store "type" | default "memory") "memory") (or (gt $replicas 1) (and .Values.autoscaling.enabled (eq .Values.mode "deployment"))) }}
{{- fail (printf "config.store.type is \"memory\" but %d gates would run (%s): one-time tokens, revocation and viewer limits would be per pod. Use config.store.type: redis, or a single replica." $replicas (eq .Values.mode "sidecar" | ternary "origin.replicas" (.Values.autoscaling.enabled | ternary "autoscaling.maxReplicas" "replicaCount"))) }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled (not .Values.adminService.enabled) }}
{{- fail "serviceMonitor.enabled needs adminService.enabled: /metrics is served on the admin listener" }}
{{- end }}
{{- end }}
