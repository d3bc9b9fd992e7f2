{{/*
Name of every object of the release: the release name (one release = one
office), or fullnameOverride. Pod names (<fullname>-<ordinal>) and the
controller-revision-hash label must stay within 63 characters.
*/}}
{{- define "yizhan.fullname" -}}
{{- $name := toString (default .Release.Name .Values.fullnameOverride) -}}
{{- $from := ternary "fullnameOverride" "the release name" (not (empty .Values.fullnameOverride)) -}}
{{- if gt (len $name) 52 -}}
{{- fail (printf "yizhan: the name %q is %d characters long; at most 52 are allowed (pod and label names derive from it): use a shorter release name or fullnameOverride" $name (len $name)) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name) -}}
{{- fail (printf "yizhan: the name %q (%s) is not a DNS-1035 label, which the Services named after it must be: lower-case letters, digits and '-', starting with a letter and ending with a letter or digit. Set fullnameOverride to such a name (e.g. dongcun or v%s for an office code)" $name $from (regexReplaceAll "[^a-z0-9-]" (lower $name) "-")) -}}
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
app.kubernetes.io/instance: {{ .Release.Name | quote }}
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
{{- include "yizhan.checkUpgrade" . -}}
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
{{- if lt (include "yizhan.bytes" (list .Values.tmpSizeLimit "tmpSizeLimit") | int64) 167772160 -}}
{{- fail (printf "yizhan: tmpSizeLimit %s is below 160Mi: a web filing form's scans beyond the 8 MiB parsed in memory (up to 33 MiB a form) spill to /tmp, 4 forms at once, and past the limit the kubelet evicts the pod" (toString .Values.tmpSizeLimit)) -}}
{{- end -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add 30 (int .Values.preStopSleepSeconds)) -}}
{{- fail (printf "yizhan: terminationGracePeriodSeconds %d leaves the node less than 30 s after the preStop sleep of %d s to hand over raft leadership and drain its outbox sends: give at least %d" (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds) (add 30 (int .Values.preStopSleepSeconds))) -}}
{{- end -}}
{{- $ports := dict "http" (int .Values.ports.http) "peer" (int .Values.ports.peer) "raft" (int .Values.ports.raft) "metrics" (int (default 0 .Values.ports.metrics)) -}}
{{- $seen := dict -}}
{{- range $name := list "http" "peer" "raft" "metrics" -}}
{{- $p := get $ports $name -}}
{{- if $p -}}
{{- if hasKey $seen (toString $p) -}}
{{- fail (printf "yizhan: ports.%s %d is also ports.%s: ports.http, ports.peer, ports.raft and ports.metrics must all differ (the node listens on each; ports.metrics 0 serves /metrics on http)" $name $p (get $seen (toString $p))) -}}
{{- end -}}
{{- $_ := set $seen (toString $p) $name -}}
{{- end -}}
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
  - the StatefulSet runs already (lookup): the prefix it runs with, so an
    upgrade never renames a node; a nodeNamePrefix given that differs
    from it is refused (it would rename every node of the running
    office, e.g. values.yaml's example set on an office installed before
    the prefix existed, whose nodes are named as their pods);
  - nodeNamePrefix given (and no running StatefulSet to compare with, or
    one whose YIZHAN_NAME is not of the form <prefix>$(POD_NAME)): that;
  - a new install (no StatefulSet, no claim of pod 0 left by an earlier
    install): "<officeCode>-";
  - otherwise (an upgrade whose StatefulSet cannot be read: helm template
    --is-upgrade, a client-side --dry-run; an install over an earlier
    install's claims): refused, asking for nodeNamePrefix.
*/}}
{{- define "yizhan.nodeNamePrefix" -}}
{{- $fullname := include "yizhan.fullname" . -}}
{{- $given := not (kindIs "invalid" .Values.nodeNamePrefix) -}}
{{- $p := "" -}}
{{- if $given -}}
{{- $p = toString .Values.nodeNamePrefix -}}
{{- if not (regexMatch "^([a-z0-9][-.a-z0-9]*)?$" $p) -}}
{{- fail (printf "yizhan: nodeNamePrefix %q: use lower-case letters, digits, '-' and '.', starting with a letter or digit (e.g. \"%s-\"), or \"\" for node names that are the pod names" $p (include "yizhan.officeCode" .)) -}}
{{- end -}}
{{- end -}}
{{- $live := lookup "apps/v1" "StatefulSet" .Release.Namespace $fullname -}}
{{- $name := "" -}}
{{- $found := false -}}
{{- if $live -}}
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
{{- $found = and $found (hasSuffix "$(POD_NAME)" $name) -}}
{{- end -}}
{{- if and $live $found -}}
{{- $running := trimSuffix "$(POD_NAME)" $name -}}
{{- if and $given (ne $p $running) -}}
{{- fail (printf "yizhan: nodeNamePrefix %q would rename the nodes of the running StatefulSet %s, which are named %s0 … (prefix %q). A node name is the node's raft ID: it cannot change under a running office (a renamed node is no member of its own office and never becomes ready). Set nodeNamePrefix %q or leave it unset (an upgrade keeps the running names). Renaming nodes means removing them from the office's raft group (yizhan members --remove) and adding them again under the new names; an upgrade does not do it. charts/yizhan/README.md, \"Node names\"" $p $fullname (printf "%s%s-" $running $fullname) $running $running) -}}
{{- end -}}
{{- $running -}}
{{- else if $given -}}
{{- $p -}}
{{- else if $live -}}
{{- fail (printf "yizhan: cannot tell the node names StatefulSet %s runs with (its YIZHAN_NAME is %q): set nodeNamePrefix to what precedes $(POD_NAME) there (\"\" for node names that are the pod names); a node name is a raft ID and must not change" $fullname $name) -}}
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

{{/*
Bytes of a Kubernetes quantity (512Mi, 1Gi, 1.5Gi, 500M, 268435456): an
integer. (list QUANTITY "the.value.name")
*/}}
{{- define "yizhan.bytes" -}}
{{- $v := index . 0 -}}
{{- $what := index . 1 -}}
{{- $s := "" -}}
{{- if kindIs "string" $v -}}
{{- $s = $v -}}
{{- else -}}
{{- $s = int64 $v | toString -}}
{{- end -}}
{{- $b := include "yizhan.quantityBytes" $s -}}
{{- if not $b -}}
{{- fail (printf "yizhan: %s %q is not a quantity of bytes this chart reads: give it as e.g. 512Mi, 1Gi or 1.5Gi" $what $s) -}}
{{- end -}}
{{- $b -}}
{{- end -}}

{{/*
Bytes of a quantity given as a string (512Mi, 1.5Gi, 500M, 268435456), or
"" for one in another form.
*/}}
{{- define "yizhan.quantityBytes" -}}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" . -}}
{{- $unit := trimPrefix $num . -}}
{{- $mult := dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "P" 1000000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624 -}}
{{- if and $num (hasKey $mult $unit) -}}
{{- mulf $num (get $mult $unit) | floor | int64 -}}
{{- end -}}
{{- end -}}

{{/*
The container's resources: .Values.resources as given, or, when it is
empty, the tier's defaults (a county node's badger caches and memtables
live in its Go heap; a village's node holds about 60 MB after 10,000
cases, docs/BENCHMARKS.md).
*/}}
{{- define "yizhan.resources" -}}
{{- if .Values.resources -}}
{{- toYaml .Values.resources -}}
{{- else if eq .Values.tier "county" -}}
requests: {cpu: 500m, memory: 512Mi}
limits: {memory: 1Gi}
{{- else if eq .Values.tier "township" -}}
requests: {cpu: 100m, memory: 128Mi}
limits: {memory: 512Mi}
{{- else -}}
requests: {cpu: 50m, memory: 96Mi}
limits: {memory: 256Mi}
{{- end -}}
{{- end -}}

{{/*
GOMEMLIMIT, the Go runtime's soft memory limit, in MiB: goMemLimitPercent
of the container's memory limit, or "" (no limit given, goMemLimitPercent
0, or GOMEMLIMIT in extraEnv). Kubernetes can hand the limit to the
container (resourceFieldRef limits.memory) only as a whole number of a
unit (divisor 1, 1Ki, 1Mi…), never a fraction of it, so the chart works
the percentage out from the value it renders. Refused when that is below
the soft limit the node sets itself for its tier (cmd/yizhan/node.go,
tierMemoryLimits): the container's limit would sit under what the node is
tuned to fill, and the kernel would kill it before the garbage collector
pushed back.
*/}}
{{- define "yizhan.goMemLimitMiB" -}}
{{- $res := include "yizhan.resources" . | fromYaml -}}
{{- $limit := dig "limits" "memory" "" $res -}}
{{- $own := false -}}
{{- range .Values.extraEnv -}}
{{- if eq (toString .name) "GOMEMLIMIT" -}}{{- $own = true -}}{{- end -}}
{{- end -}}
{{- if and $limit (not $own) -}}
{{- $bytes := include "yizhan.bytes" (list $limit "resources.limits.memory") | int64 -}}
{{- $tierMiB := get (dict "county" 384 "township" 64 "village" 40) .Values.tier | int64 -}}
{{- $pct := int64 .Values.goMemLimitPercent -}}
{{- $mib := div $bytes 1048576 -}}
{{- if $pct -}}
{{- $mib = div (mul $bytes $pct) 104857600 -}}
{{- end -}}
{{- if lt $mib $tierMiB -}}
{{- $need := div (add (mul $tierMiB 100) (sub (default 100 $pct) 1)) (default 100 $pct) -}}
{{- fail (printf "yizhan: resources.limits.memory %s leaves the node a soft memory limit of %d MiB (%s), below the %d MiB a %s node sets itself (cmd/yizhan/node.go): the kernel would kill the container before the garbage collector pushed back. Give the %s at least %dMi" (toString $limit) $mib (ternary (printf "GOMEMLIMIT, goMemLimitPercent %d%% of it" $pct) "the whole limit" (ne $pct 0)) $tierMiB .Values.tier .Values.tier $need) -}}
{{- end -}}
{{- if $pct -}}
{{- $mib -}}
{{- end -}}
{{- end -}}
{{- end -}}