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
{{- if and .Values.auth.signingKey.existingSecret (not .Values.auth.authority) (ne .Values.environment "Development") (or (not .Values.auth.issuer) (eq .Values.auth.issuer "ticketsaga-dev")) -}}
{{- fail "a signing key outside environment Development needs auth.issuer (your own issuer, not ticketsaga-dev); or set auth.authority (OIDC)" -}}
{{- end -}}
{{- end -}}

{{/* Gateway replicas share the waiting room's key; behind the ingress the gateway must know which proxy to believe. */}}
{{- define "ticketsaga.checkGateway" -}}
{{- $gateway := index .Values.apps "gateway" -}}
{{- if and (or (gt (int $gateway.replicas) 1) $gateway.autoscaling.enabled) (not .Values.waitingRoom.tokenKey.existingSecret) -}}
{{- fail "more than one gateway replica needs waitingRoom.tokenKey.existingSecret (one queue-token key for all of them)" -}}
{{- end -}}
{{- $env := $gateway.env | default dict -}}
{{- if and .Values.ingress.enabled (not (or (hasKey $env "ForwardedHeaders__KnownNetworks__0") (hasKey $env "ForwardedHeaders__KnownProxies__0"))) -}}
{{- fail "behind the ingress set apps.gateway.env.ForwardedHeaders__KnownNetworks__0 (the ingress controller's pod network) or ForwardedHeaders__KnownProxies__0: otherwise every anonymous visitor shares one rate-limit bucket" -}}
{{- end -}}
{{- end -}}

{{/* Secret holding one app's Dapr token; call with (dict "root" $ "id" $id "kind" "app"|"api"). */}}
{{- define "ticketsaga.tokenSecretName" -}}
{{- $existing := dig .id .kind "" .root.Values.dapr.tokens.existingSecrets -}}
{{- if $existing -}}
{{- $existing -}}
{{- else -}}
{{- printf "%s-%s-token" (include "ticketsaga.appName" (dict "root" .root "id" .id)) .kind | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Pub/sub publishingScopes: each app's own topics plus the dead-letter topics of its subscriptions. */}}
{{- define "ticketsaga.publishingScopes" -}}
{{- $entries := list -}}
{{- range $app, $topics := .Values.dapr.pubsub.publishes -}}
{{- $allowed := $topics -}}
{{- range $.Values.dapr.subscriptions -}}
{{- if has $app .scopes -}}
{{- $allowed = append $allowed (printf "%s.dlq" .topic) -}}
{{- end -}}
{{- end -}}
{{- $entries = append $entries (printf "%s=%s" $app (join "," $allowed)) -}}
{{- end -}}
{{- join ";" $entries -}}
{{- end -}}

{{/* Pub/sub subscriptionScopes: each pub/sub app receives exactly the topics it subscribes to. */}}
{{- define "ticketsaga.subscriptionScopes" -}}
{{- $entries := list -}}
{{- range $app := .Values.dapr.pubsub.scopes -}}
{{- $topics := list -}}
{{- range $.Values.dapr.subscriptions -}}
{{- if has $app .scopes -}}
{{- $topics = append $topics .topic -}}
{{- end -}}
{{- end -}}
{{- $entries = append $entries (printf "%s=%s" $app (join "," $topics)) -}}
{{- end -}}
{{- join ";" $entries -}}
{{- end -}}
