{{/* The release's name for every object: the release name, with the
chart's name appended unless it already says natter. */}}
{{- define "natter.fullname" -}}
{{- if eq .Release.Name .Chart.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "natter.headless" -}}
{{- printf "%s-headless" (include "natter.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "natter.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "natter.labels" -}}
{{ include "natter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "natter.secretName" -}}
{{- if .Values.secret.existingSecret -}}
{{- .Values.secret.existingSecret -}}
{{- else -}}
{{- required "set secret.existingSecret or secret.secret" .Values.secret.secret | trunc 0 -}}
{{- include "natter.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* The embedded servers' routes: every pod of the StatefulSet by its
stable name; a node ignores the route to itself. */}}
{{- define "natter.routes" -}}
{{- $name := include "natter.fullname" . -}}
{{- $headless := include "natter.headless" . -}}
{{- $port := .Values.nats.clusterPort -}}
{{- range $i := until (int .Values.replicas) -}}
{{- if $i }},{{ end }}nats://{{ $name }}-{{ $i }}.{{ $headless }}:{{ $port }}
{{- end -}}
{{- end -}}

{{/* The pod template, shared by the StatefulSet (embedded NATS) and the
Deployment (external NATS). */}}
{{- define "natter.pod" -}}
metadata:
  labels:
    {{- include "natter.selectorLabels" . | nindent 4 }}
  annotations:
    checksum/config: {{ toYaml .Values.settings | sha256sum }}
    {{- if .Values.metrics.podAnnotations }}
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ .Values.adminPort | quote }}
    prometheus.io/path: /metrics
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  # Longer than --drain-timeout: SIGTERM drains, SIGKILL comes after.
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    fsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  affinity:
    {{- if .Values.affinity }}
    {{- toYaml .Values.affinity | nindent 4 }}
    {{- else if .Values.nats.url }}
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels:
                {{- include "natter.selectorLabels" . | nindent 16 }}
    {{- else }}
    # One JetStream peer per machine: losing a machine loses one peer.
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        - topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "natter.selectorLabels" . | nindent 14 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: natter
      image: {{ printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --listen=:8080
        - --admin-listen=:{{ .Values.adminPort }}
        - --data-dir=/data
        - --node-id=$(POD_NAME)
        - --replicas={{ .Values.nats.replicas }}
        - --drain-timeout={{ .Values.drainTimeout }}
        {{- if .Values.nats.url }}
        - --nats-url={{ .Values.nats.url }}
        {{- else }}
        {{- if gt (int .Values.replicas) 1 }}
        - --cluster-listen=0.0.0.0:{{ .Values.nats.clusterPort }}
        - --routes={{ include "natter.routes" . }}
        {{- end }}
        # loopback client port for the nats CLI (kubectl port-forward)
        - --nats-listen=127.0.0.1:4222
        {{- if .Values.nats.monitorPort }}
        - --nats-monitor=0.0.0.0:{{ .Values.nats.monitorPort }}
        {{- end }}
        {{- end }}
      envFrom:
        - configMapRef:
            name: {{ include "natter.fullname" . }}
      env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: NATTER_SECRET
          valueFrom:
            secretKeyRef:
              name: {{ include "natter.secretName" . }}
              key: secret
        - name: NATTER_API_KEY
          valueFrom:
            secretKeyRef:
              name: {{ include "natter.secretName" . }}
              key: api-key
              optional: true
      ports:
        - name: http
          containerPort: 8080
        - name: admin
          containerPort: {{ .Values.adminPort }}
        {{- if not .Values.nats.url }}
        - name: routes
          containerPort: {{ .Values.nats.clusterPort }}
        {{- if .Values.nats.monitorPort }}
        - name: nats-monitor
          containerPort: {{ .Values.nats.monitorPort }}
        {{- end }}
        {{- end }}
      # The node answers 503 "starting" until JetStream is ready (a fresh
      # cluster waits for its peers, up to --start-timeout, 2 minutes).
      startupProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 36
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: 2
        timeoutSeconds: 3
        failureThreshold: 2
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
      volumeMounts:
        - name: data
          mountPath: /data
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir: {}
    {{- if .Values.nats.url }}
    # The state is in NATS; the data dir only holds the node id.
    - name: data
      emptyDir: {}
    {{- end }}
{{- end -}}
