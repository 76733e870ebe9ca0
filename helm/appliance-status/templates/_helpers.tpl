{{- define "appliance-status.labels" -}}
app.kubernetes.io/name: appliance-status
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{- define "appliance-status.selector" -}}
app.kubernetes.io/name: appliance-status
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
