{{/*
The streamgate container, shared by the Deployment (mode: deployment) and the sidecar patch
(mode: sidecar). Call with (dict "root" $ "sidecar" true|false). In sidecar mode its ports are
named sg-http / sg-admin (the origin's container keeps its own names) and the origin is loopback.
*/}}
{{- define "streamgate.portNames" -}}
{{- if .sidecar -}}
{"http": "sg-http", "admin": "sg-admin"}
{{- else -}}
{"http": "http", "admin": "admin"}
{{- end -}}
{{- end }}

{{- define "streamgate.probe" -}}
{{- $probe := deepCopy .probe }}
{{- with $probe.httpGet }}
{{- if hasKey $.names (toString .port) }}
{{- $_ := set . "port" (get $.names (toString .port)) }}
{{- end }}
{{- end }}
{{- toYaml $probe }}
{{- end }}

{{- define "streamgate.container" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $names := include "streamgate.portNames" . | fromJson }}
- name: {{ .sidecar | ternary $v.sidecar.containerName "streamgate" }}
  image: {{ include "streamgate.image" $root | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  args:
    - serve
    - --config
    - /etc/streamgate/config.yaml
  ports:
    - name: {{ $names.http }}
      containerPort: {{ $v.containerPorts.http }}
      protocol: TCP
    - name: {{ $names.admin }}
      containerPort: {{ $v.containerPorts.admin }}
      protocol: TCP
  env:
    # Listeners are pinned here so that probes and Services always match the process.
    - name: STREAMGATE_LISTEN_HOST
      value: {{ $v.bindAddress | quote }}
    - name: STREAMGATE_LISTEN_PORT
      value: {{ $v.containerPorts.http | quote }}
    - name: STREAMGATE_ADMIN_HOST
      value: {{ $v.bindAddress | quote }}
    - name: STREAMGATE_ADMIN_PORT
      value: {{ $v.containerPorts.admin | quote }}
    # How many gates share the store: streamgate refuses store.type memory with more than one.
    - name: STREAMGATE_REPLICAS
      value: {{ include "streamgate.replicas" $root | quote }}
    {{- if .sidecar }}
    # The origin is the other container of this pod.
    - name: STREAMGATE_ORIGIN_URL
      value: {{ printf "http://127.0.0.1:%d" (int $v.origin.httpPort) | quote }}
    {{- end }}
    {{- with $v.logLevel }}
    - name: STREAMGATE_LOG_LEVEL
      value: {{ . | quote }}
    {{- end }}
    {{- with $v.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  envFrom:
    - secretRef:
        name: {{ include "streamgate.secretName" $root }}
    {{- with $v.extraEnvFrom }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $v.livenessProbe }}
  livenessProbe:
    {{- include "streamgate.probe" (dict "probe" . "names" $names) | nindent 4 }}
  {{- end }}
  {{- with $v.readinessProbe }}
  readinessProbe:
    {{- include "streamgate.probe" (dict "probe" . "names" $names) | nindent 4 }}
  {{- end }}
  {{- with $v.startupProbe }}
  startupProbe:
    {{- include "streamgate.probe" (dict "probe" . "names" $names) | nindent 4 }}
  {{- end }}
  {{- if $v.preStopSleepSeconds }}
  # Keeps serving while endpoints are withdrawn; then SIGTERM starts the drain (see README).
  lifecycle:
    preStop:
      exec:
        command: ["sleep", "{{ $v.preStopSleepSeconds }}"]
  {{- end }}
  {{- with $v.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: streamgate-config
      mountPath: /etc/streamgate/config.yaml
      subPath: config.yaml
      readOnly: true
    - name: streamgate-tmp
      mountPath: /tmp
    {{- if $v.secretVolume.enabled }}
    - name: streamgate-secrets
      mountPath: {{ $v.secretVolume.mountPath }}
      readOnly: true
    {{- end }}
    {{- with $v.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{- define "streamgate.volumes" -}}
{{- $v := .Values }}
- name: streamgate-config
  configMap:
    name: {{ include "streamgate.fullname" . }}
- name: streamgate-tmp
  emptyDir:
    sizeLimit: 16Mi
{{- if $v.secretVolume.enabled }}
- name: streamgate-secrets
  secret:
    secretName: {{ include "streamgate.secretName" . }}
    defaultMode: 0440
{{- end }}
{{- with $v.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Replicas sharing the store: the Deployment's count (the HPA's maximum when autoscaling), or the
origin's replica count in sidecar mode.
*/}}
{{- define "streamgate.replicas" -}}
{{- if eq .Values.mode "sidecar" }}
{{- .Values.origin.replicas }}
{{- else if .Values.autoscaling.enabled }}
{{- .Values.autoscaling.maxReplicas }}
{{- else }}
{{- .Values.replicaCount }}
{{- end }}
{{- end }}

{{/*
Selector of the pods that serve the public port: the gate's own, or the origin's in sidecar mode.
*/}}
{{- define "streamgate.servingSelector" -}}
{{- if eq .Values.mode "sidecar" }}
{{- toYaml .Values.origin.podLabels }}
{{- else }}
{{- include "streamgate.selectorLabels" . }}
{{- end }}
{{- end }}
