{{- define "landlord.name" -}}landlord-operator{{- end -}}

{{- define "landlord.labels" -}}
app.kubernetes.io/name: landlord
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "landlord.selector" -}}
app.kubernetes.io/name: landlord
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- /* Every operator pod of the release, whatever its shard. */}}
{{- define "landlord.podSelector" -}}
app.kubernetes.io/name: landlord
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
