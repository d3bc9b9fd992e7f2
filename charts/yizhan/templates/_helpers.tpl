{{/*
Name of every object of the release: the release name (one release = one
office), or fullnameOverride. Pod names (<fullname>-<ordinal>) and the
controller-revision-hash label must stay within 63 characters.
*/}}
{{- define "yizhan.fullname" -}}
{{- $name := default .Release.Name .Values.fullnameOverride -}}
{{- if gt (len $name) 52 -}}
{{- fail (printf "yizhan: the name %q is %d characters long; at most 52 are allowed (pod and label names derive from it): use a shorter release name or fullnameOverride" $name (len $name)) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{- define "yizhan.peersService" -}}
{{- printf "%s-peers" (include "yizhan.fullname" .) -}}
{{- end -}}

{{- define "yizhan.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "yizhan.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "yizhan.tlsSecretName" -}}
{{- if .Values.tls.certManager.enabled -}}
{{- printf "%s-tls" (include "yizhan.fullname" .) -}}
{{- else -}}
{{- .Values.tls.existingSecret -}}
{{- end -}}
{{- end -}}

{{/*
The office code as a string: a code given as a YAML or --set number is
accepted and printed with all its digits.
*/}}
{{- define "yizhan.officeCode" -}}
{{- $c := .Values.officeCode -}}
{{- if kindIs "invalid" $c -}}
{{- else if kindIs "string" $c -}}
{{- $c -}}
{{- else -}}
{{- int64 $c | toString -}}
{{- end -}}
{{- end -}}

{{- define "yizhan.countyCode" -}}
{{- printf "%s000000" (substr 0 6 (include "yizhan.officeCode" .)) -}}
{{- end -}}

{{- define "yizhan.townshipCode" -}}
{{- printf "%s000" (substr 0 9 (include "yizhan.officeCode" .)) -}}
{{- end -}}

{{/* Replicas: the value, or the tier's default (county 3, others 1). */}}
{{- define "yizhan.replicas" -}}
{{- if kindIs "invalid" .Values.replicas -}}
{{- if eq .Values.tier "county" -}}3{{- else -}}1{{- end -}}
{{- else -}}
{{- int .Values.replicas -}}
{{- end -}}
{{- end -}}

{{- define "yizhan.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "yizhan.selectorLabels" -}}
app.kubernetes.io/name: yizhan
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels of every object. The yizhan.gov/* labels name the office and its
place in the tree: the NetworkPolicies of the parent and children offices
select pods by them.
*/}}
{{- define "yizhan.labels" -}}
{{ include "yizhan.selectorLabels" . }}
app.kubernetes.io/version: {{ default .Chart.AppVersion .Values.image.tag | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: yizhan
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "yizhan.officeLabels" . }}
{{- end -}}

{{- define "yizhan.officeLabels" -}}
yizhan.gov/tier: {{ .Values.tier | quote }}
yizhan.gov/office: {{ include "yizhan.officeCode" . | quote }}
yizhan.gov/county: {{ include "yizhan.countyCode" . | quote }}
{{- if ne .Values.tier "county" }}
yizhan.gov/township: {{ include "yizhan.townshipCode" . | quote }}
{{- end }}
{{- end -}}

{{/* Stable DNS name of pod <ordinal>: <fullname>-<n>.<fullname>-peers.<ns>.svc.<domain> */}}
{{- define "yizhan.podHost" -}}
{{- $ := index . 0 -}}
{{- printf "%s-%d.%s.%s.svc.%s" (include "yizhan.fullname" $) (index . 1) (include "yizhan.peersService" $) $.Release.Namespace $.Values.clusterDomain -}}
{{- end -}}

{{/*
Arguments added to the command of pod <ordinal> by the image's entrypoint
(yizhan-pod). Pod 0 bootstraps the office's raft group (and, for the
county, creates the admin account) only in the release's install render,
or always in a one-node office, which has no one to join. After install
pod 0 joins the other pods like every pod does: --join on a data directory
that holds raft state is harmless (the node is a member and asks nobody),
while --bootstrap on a pod 0 that lost its volume would start a second raft
group of the office beside the one pods 1… run. The node ignores
--bootstrap once its data directory holds raft state, and refuses
--bootstrap with --join on an empty one, so pod 0 never gets both.
*/}}
{{- define "yizhan.ordinalArgs" -}}
{{- $ := index . 0 -}}
{{- $ord := index . 1 -}}
{{- $replicas := int (include "yizhan.replicas" $) -}}
{{- if and (eq $ord 0) (or (eq $replicas 1) (and $.Release.IsInstall $.Values.raft.bootstrap)) -}}
--bootstrap
{{- if and (eq $.Values.tier "county") $.Values.bootstrapAdmin.existingSecret }} --bootstrap-admin-password-file=/etc/yizhan/bootstrap/admin-password{{ end }}
{{- else -}}
{{- $peers := list -}}
{{- range $i := until $replicas -}}
{{- if ne $i $ord -}}
{{- $peers = append $peers (printf "%s:%d" (include "yizhan.podHost" (list $ $i)) (int $.Values.ports.peer)) -}}
{{- end -}}
{{- end -}}
--join={{ join "," $peers }}
{{- end -}}
{{- end -}}

{{/*
Checks the rules of values.schema.json again with plain messages, for
renders that skip schema validation, and the rules a schema cannot state.
*/}}
{{- define "yizhan.validate" -}}
{{- $tier := .Values.tier -}}
{{- if not (has $tier (list "county" "township" "village")) -}}
{{- fail (printf "yizhan: tier must be county, township or village (got %q)" (toString $tier)) -}}
{{- end -}}
{{- $code := include "yizhan.officeCode" . -}}
{{- if not $code -}}
{{- fail "yizhan: officeCode is required: the 12-digit division code of the office (--set-string officeCode=...)" -}}
{{- end -}}
{{- if not (regexMatch "^[0-9]{12}$" $code) -}}
{{- fail (printf "yizhan: officeCode %q is not a 12-digit division code" $code) -}}
{{- end -}}
{{- if and (eq $tier "county") (not (hasSuffix "000000" $code)) -}}
{{- fail (printf "yizhan: officeCode %q does not match tier county: a county code ends in 000000" $code) -}}
{{- end -}}
{{- if and (eq $tier "township") (or (not (hasSuffix "000" $code)) (hasSuffix "000000" $code)) -}}
{{- fail (printf "yizhan: officeCode %q does not match tier township: a township code ends in 000 but not in 000000" $code) -}}
{{- end -}}
{{- if and (eq $tier "village") (hasSuffix "000" $code) -}}
{{- fail (printf "yizhan: officeCode %q does not match tier village: a village code does not end in 000" $code) -}}
{{- end -}}
{{- $r := int (include "yizhan.replicas" .) -}}
{{- if and (eq $tier "county") (not (has $r (list 3 5))) -}}
{{- fail (printf "yizhan: a county runs 3 or 5 nodes (replicas %d refused: a raft group needs an odd number of voters)" $r) -}}
{{- end -}}
{{- if and (eq $tier "township") (not (has $r (list 1 3))) -}}
{{- fail (printf "yizhan: a township runs 1 or 3 nodes (replicas %d refused)" $r) -}}
{{- end -}}
{{- if and (eq $tier "village") (ne $r 1) -}}
{{- fail (printf "yizhan: a village runs 1 node (replicas %d refused)" $r) -}}
{{- end -}}
{{- include "yizhan.checkScaleDown" (list . $r) -}}
{{- if and (eq $r 1) (not .Values.raft.bootstrap) -}}
{{- fail "yizhan: raft.bootstrap=false makes pod 0 join the office's other pods, and a one-node office (replicas 1) has none: its pod would never be ready. Leave raft.bootstrap true (a one-node office that lost its data is restored from a backup: docs/OPERATIONS.md)" -}}
{{- end -}}
{{- if and (eq $tier "county") .Values.upstream -}}
{{- fail "yizhan: the county has no upstream: leave upstream empty" -}}
{{- end -}}
{{- if and (ne $tier "county") (not .Values.upstream) -}}
{{- fail (printf "yizhan: a %s needs upstream: the peer addresses (host:7070) of its parent office's nodes, then fallbacks" $tier) -}}
{{- end -}}
{{- range .Values.upstream -}}
{{- if not (regexMatch "^[^,\\s]+:[0-9]+$" (toString .)) -}}
{{- fail (printf "yizhan: upstream entry %q is not host:port" (toString .)) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.tls.certManager.enabled .Values.tls.existingSecret -}}
{{- fail "yizhan: give either tls.existingSecret or tls.certManager.enabled, not both" -}}
{{- end -}}
{{- if and (not .Values.tls.certManager.enabled) (not .Values.tls.existingSecret) -}}
{{- fail "yizhan: TLS is required: set tls.existingSecret (a Secret with tls.crt, tls.key, ca.crt) or tls.certManager.enabled with tls.certManager.issuerRef.name" -}}
{{- end -}}
{{- if and .Values.tls.certManager.enabled (not .Values.tls.certManager.issuerRef.name) -}}
{{- fail "yizhan: tls.certManager.issuerRef.name is required when tls.certManager.enabled" -}}
{{- end -}}
{{- if and (eq $tier "county") (not .Values.bootstrapAdmin.existingSecret) -}}
{{- fail "yizhan: the county needs bootstrapAdmin.existingSecret: a Secret holding the password of the admin account created at first start" -}}
{{- end -}}
{{- if and (ne $tier "county") .Values.bootstrapAdmin.existingSecret -}}
{{- fail (printf "yizhan: bootstrapAdmin is for the county only; a %s gets its staff from the county's registry" $tier) -}}
{{- end -}}
{{- $m := int (default 0 .Values.ports.metrics) -}}
{{- if and $m (has $m (list (int .Values.ports.http) (int .Values.ports.peer) (int .Values.ports.raft))) -}}
{{- fail (printf "yizhan: ports.metrics %d is already the http, peer or raft port: give it a port of its own, or 0 to serve /metrics on http" $m) -}}
{{- end -}}
{{- end -}}


{{/*
Refuses to scale an office down unless raft.membersRemoved acknowledges
that the nodes of the pods taken away were first removed from the raft
group: a pod deleted by the StatefulSet stays a voter of the group, so a
county of 3 scaled to 1 keeps 1 of 3 voters (no quorum: no leader, no
writes) and one of 5 scaled to 3 has no voter to spare. The StatefulSet
running now is read from the cluster (lookup); under helm template and
other renders without a cluster lookup finds nothing and nothing is
checked.
*/}}
{{- define "yizhan.checkScaleDown" -}}
{{- $ := index . 0 -}}
{{- $r := index . 1 -}}
{{- $fullname := include "yizhan.fullname" $ -}}
{{- $live := lookup "apps/v1" "StatefulSet" $.Release.Namespace $fullname -}}
{{- if $live -}}
{{- $was := int (dig "spec" "replicas" 1 $live) -}}
{{- if and (lt $r $was) (not $.Values.raft.membersRemoved) -}}
{{- $gone := list -}}
{{- range $i := untilStep $r $was 1 -}}
{{- $gone = append $gone (printf "%s%s-%d" (include "yizhan.nodeNamePrefix" $) $fullname $i) -}}
{{- end -}}
{{- fail (printf "yizhan: replicas %d is fewer than the %d nodes StatefulSet %s runs. The nodes of the pods taken away (named %s) would stay voters of the office's raft group, which then has %s. Remove them from the group first, one at a time, while every pod runs: kubectl -n %s exec %s-0 -- yizhan members --peer 127.0.0.1:%d --remove NAME for each; then scale with --set replicas=%d --set raft.membersRemoved=true (and unset it afterwards). docs/deploy-kubernetes.md" $r $was $fullname (join ", " $gone) (ternary "no quorum: no leader, no writes" "no voter to spare" (lt $r (add1 (div $was 2)))) $.Release.Namespace $fullname (int $.Values.ports.peer) $r) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
What precedes the pod's name in every node's name (YIZHAN_NAME =
<prefix>$(POD_NAME)). The node name is the node's raft ID and keys the
county-wide node directory, so it must be unique in the federation and
must never change for an office that runs. Pod names alone (a release's
name, e.g. "yizhan-0") collide across offices released under one name
in different namespaces or clusters; the office code is unique in the
county. Hence:
  - nodeNamePrefix given: that (a release installed before the prefix
    existed keeps its node names with nodeNamePrefix "");
  - the StatefulSet runs already (lookup): the prefix it runs with, so an
    upgrade never renames a node;
  - a new install (no StatefulSet, no claim of pod 0 left by an earlier
    install): "<officeCode>-";
  - otherwise (an upgrade whose StatefulSet cannot be read: helm template
    --is-upgrade, a client-side --dry-run; an install over an earlier
    install's claims): refused, asking for nodeNamePrefix.
*/}}
{{- define "yizhan.nodeNamePrefix" -}}
{{- $fullname := include "yizhan.fullname" . -}}
{{- if not (kindIs "invalid" .Values.nodeNamePrefix) -}}
{{- $p := toString .Values.nodeNamePrefix -}}
{{- if not (regexMatch "^([a-z0-9][-.a-z0-9]*)?$" $p) -}}
{{- fail (printf "yizhan: nodeNamePrefix %q: use lower-case letters, digits, '-' and '.', starting with a letter or digit (e.g. \"%s-\"), or \"\" for node names that are the pod names" $p (include "yizhan.officeCode" .)) -}}
{{- end -}}
{{- $p -}}
{{- else -}}
{{- $live := lookup "apps/v1" "StatefulSet" .Release.Namespace $fullname -}}
{{- if $live -}}
{{- $name := "" -}}
{{- $found := false -}}
{{- range (dig "spec" "template" "spec" "containers" (list) $live) -}}
{{- if eq (toString .name) "yizhan" -}}
{{- range (default (list) .env) -}}
{{- if eq (toString .name) "YIZHAN_NAME" -}}
{{- $name = toString .value -}}
{{- $found = true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if or (not $found) (not (hasSuffix "$(POD_NAME)" $name)) -}}
{{- fail (printf "yizhan: cannot tell the node names StatefulSet %s runs with (its YIZHAN_NAME is %q): set nodeNamePrefix to what precedes $(POD_NAME) there (\"\" for node names that are the pod names); a node name is a raft ID and must not change" $fullname $name) -}}
{{- end -}}
{{- trimSuffix "$(POD_NAME)" $name -}}
{{- else -}}
{{- $claim := dict -}}
{{- if .Values.persistence.enabled -}}
{{- $claim = lookup "v1" "PersistentVolumeClaim" .Release.Namespace (printf "data-%s-0" $fullname) -}}
{{- end -}}
{{- if and (not .Release.IsUpgrade) (not $claim) -}}
{{- printf "%s-" (include "yizhan.officeCode" .) -}}
{{- else -}}
{{- $why := printf "the StatefulSet %s cannot be read (helm template --is-upgrade, a client-side --dry-run: use --dry-run=server; or the StatefulSet was deleted)" $fullname -}}
{{- if $claim -}}
{{- $why = printf "the claim data-%s-0 holds the data of an earlier install" $fullname -}}
{{- end -}}
{{- fail (printf "yizhan: cannot tell the node names of this office: %s. A node name is the node's raft ID and must not change: set nodeNamePrefix, \"\" for an office installed when node names were the pod names (%s-0), else the prefix the release's NOTES printed (\"%s-\" for a new install of this office)" $why $fullname (include "yizhan.officeCode" .)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}