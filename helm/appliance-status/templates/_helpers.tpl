{{/*
Names. Every object's name comes from "appliance-status.fullname": the release name when it
already contains the chart's name (release "appliance-status", as flux/ and the tests install it,
gives Deployment, ServiceAccount and ClusterRoles "appliance-status", "appliance-status-reader", …),
else "<release>-appliance-status"; fullnameOverride and nameOverride as in any chart. The Secrets
are not the chart's (`appliance-status token ensure` writes them): their names are values.
*/}}
{{- define "appliance-status.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "appliance-status.fullname" -}}
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

{{- define "appliance-status.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "appliance-status.labels" -}}
helm.sh/chart: {{ include "appliance-status.chart" . }}
{{ include "appliance-status.selector" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "appliance-status.selector" -}}
app.kubernetes.io/name: {{ include "appliance-status.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount every binding names. */}}
{{- define "appliance-status.serviceAccountName" -}}
{{- include "appliance-status.fullname" . }}
{{- end }}

{{/* The image, for the Deployment and the storage smoke pod. */}}
{{- define "appliance-status.image" -}}
{{- printf "%s:%s" .Values.image.repository (toString (.Values.image.tag | default .Chart.AppVersion)) }}
{{- end }}

{{/*
The storage smoke probe's namespace: storageSmoke.namespace, else "<release namespace>-smoke".
Never the release's own: it enforces Pod Security "restricted", which the status pod (host port
or host network) cannot pass.
*/}}
{{- define "appliance-status.smokeNamespace" -}}
{{- $ns := .Values.storageSmoke.namespace | default (printf "%s-smoke" .Release.Namespace | trunc 63 | trimSuffix "-") }}
{{- if eq $ns .Release.Namespace }}
{{- fail (printf "storageSmoke.namespace must not be the release's namespace (%s): the smoke namespace enforces Pod Security \"restricted\", which the status pod (host port or host network) cannot pass" $ns) }}
{{- end }}
{{- $ns }}
{{- end }}

{{/* URL scheme on the node's port. */}}
{{- define "appliance-status.scheme" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}
