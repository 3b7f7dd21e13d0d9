{{/* The release's full name, at most 63 characters (a DNS label). */}}
{{- define "ticketsaga.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels every resource carries. */}}
{{- define "ticketsaga.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: ticketsaga
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one app; call with (dict "root" $ "id" $id). */}}
{{- define "ticketsaga.selectorLabels" -}}
app.kubernetes.io/name: {{ .id }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Name of one app's Deployment, Service, HPA and PDB; call with (dict "root" $ "id" $id). */}}
{{- define "ticketsaga.appName" -}}
{{- printf "%s-%s" (include "ticketsaga.fullname" .root) .id | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ticketsaga.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ticketsaga.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Kubernetes object name for a Kafka topic or subscription: dots and underscores become dashes. */}}
{{- define "ticketsaga.topicName" -}}
{{- . | replace "." "-" | replace "_" "-" -}}
{{- end -}}

{{/* The services refuse to start without a way to validate tokens: fail at install instead. */}}
{{- define "ticketsaga.checkAuth" -}}
{{- if and (not .Values.auth.authority) (not .Values.auth.signingKey.existingSecret) -}}
{{- fail "set auth.authority (OIDC) or auth.signingKey.existingSecret (development)" -}}
{{- end -}}
{{- end -}}
