{{/*
Refuses, before anything is applied, an upgrade that Kubernetes would
refuse with a bare "Forbidden: updates to statefulset spec for fields
other than …" or that would lose the office, naming the value and what
to do instead (charts/yizhan/README.md, "Upgrades").

Of the StatefulSet's fields that cannot change, only the
volumeClaimTemplates follow values here: persistence.enabled, .size,
.storageClass, .accessModes, .annotations, and the claims' labels, which
carry the office code (and the tier, which follows from the code). The
selector (app.kubernetes.io/name and /instance: the release name),
serviceName (<fullname>-peers) and podManagementPolicy (Parallel) follow
no value, and have been the same since the chart's first version: a
different fullname names another StatefulSet, checked below.

The StatefulSet running now is read from the cluster (lookup): under
helm template and a client-side --dry-run lookup finds nothing and
nothing is checked.
*/}}
{{- define "yizhan.checkUpgrade" -}}
{{- $fullname := include "yizhan.fullname" . -}}
{{- $live := lookup "apps/v1" "StatefulSet" .Release.Namespace $fullname -}}
{{- if $live -}}
{{- include "yizhan.checkOfficeKept" (list . $live) -}}
{{- include "yizhan.checkClaimsKept" (list . $live) -}}
{{- else if .Release.IsUpgrade -}}
{{- include "yizhan.checkNameKept" . -}}
{{- end -}}
{{- end -}}

{{/* The value of an env entry of the yizhan container of a live StatefulSet, or "". (list $live NAME) */}}
{{- define "yizhan.liveEnv" -}}
{{- $want := index . 1 -}}
{{- range (dig "spec" "template" "spec" "containers" (list) (index . 0)) -}}
{{- if eq (toString .name) "yizhan" -}}
{{- range (default (list) .env) -}}
{{- if eq (toString .name) $want -}}{{- toString (default "" .value) -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The office code cannot change under a running office: the node refuses a
data directory that holds another office's book (casebook.Open), and
the claims' labels carry the code (volumeClaimTemplates cannot change).
*/}}
{{- define "yizhan.checkOfficeKept" -}}
{{- $ := index . 0 -}}
{{- $live := index . 1 -}}
{{- $was := include "yizhan.liveEnv" (list $live "YIZHAN_OFFICE") -}}
{{- $code := include "yizhan.officeCode" $ -}}
{{- if and $was (ne $was $code) -}}
{{- $tier := toString (dig "metadata" "labels" "yizhan.gov/tier" "" $live) -}}
{{- fail (printf "yizhan: officeCode %s → %s: StatefulSet %s runs office %s%s, and an office's code cannot change under a running office: its volumes hold the book of office %s (a node started as another office on them refuses to start), the federation and the NetworkPolicies of its parent and children know it by its code, and its claims carry it in their labels, which Kubernetes cannot change (volumeClaimTemplates). Set officeCode %q%s as installed. Another office is another release, a new install of its own (docs/deploy-kubernetes.md)" $was $code (include "yizhan.fullname" $) $was (ternary (printf " (tier %s)" $tier) "" (ne $tier "")) $was $was (ternary (printf " and tier %s" $tier) "" (ne $tier ""))) -}}
{{- end -}}
{{- end -}}

{{/*
The volumeClaimTemplates the chart renders must be those the running
StatefulSet has. Sizes are compared as quantities (the API server keeps
1.5Gi as 1536Mi); the storage class as the value that rendered it
("" for none: the cluster's default class when each claim was made; "-"
for storageClassName "").
*/}}
{{- define "yizhan.checkClaimsKept" -}}
{{- $ := index . 0 -}}
{{- $live := index . 1 -}}
{{- $fullname := include "yizhan.fullname" $ -}}
{{- $ns := $.Release.Namespace -}}
{{- $p := $.Values.persistence -}}
{{- $claim := dict -}}
{{- $hasClaim := false -}}
{{- range (dig "spec" "volumeClaimTemplates" (list) $live) -}}
{{- if eq (toString (dig "metadata" "name" "" .)) "data" -}}
{{- $claim = . -}}
{{- $hasClaim = true -}}
{{- end -}}
{{- end -}}
{{- $n := max 1 (int (dig "spec" "replicas" 1 $live)) | int -}}
{{- $claims := list -}}
{{- $ordinals := list -}}
{{- range $i := until $n -}}
{{- $claims = append $claims (printf "data-%s-%d" $fullname $i) -}}
{{- $ordinals = append $ordinals (toString $i) -}}
{{- end -}}
{{- $why := "Kubernetes cannot change a StatefulSet's volumeClaimTemplates (helm upgrade would fail with \"Forbidden: updates to statefulset spec for fields other than 'replicas', … are forbidden\")" -}}
{{- $see := "charts/yizhan/README.md, \"Upgrades\"" -}}
{{- if and $p.enabled (not $hasClaim) -}}
{{- fail (printf "yizhan: persistence.enabled false → true: StatefulSet %s was installed without claims (persistence.enabled=false: its data lives in emptyDir volumes, lost with the pods), and %s. Leave persistence.enabled false for this release; an office on volumes is a new install, with a backup of this one restored into it (%s)" $fullname $why $see) -}}
{{- else if and (not $p.enabled) $hasClaim -}}
{{- fail (printf "yizhan: persistence.enabled true → false: StatefulSet %s keeps each node's data in a claim of its own (%s), and %s; the pods would lose their data besides. Leave persistence.enabled true" $fullname (join ", " $claims) $why) -}}
{{- else if $hasClaim -}}
{{- $cspec := default (dict) (get $claim "spec") -}}

{{- /* persistence.size */ -}}
{{- $wasSize := toString (dig "resources" "requests" "storage" "" $cspec) -}}
{{- $size := "" -}}
{{- if kindIs "string" $p.size -}}
{{- $size = $p.size -}}
{{- else -}}
{{- $size = int64 $p.size | toString -}}
{{- end -}}
{{- $wasBytes := include "yizhan.quantityBytes" $wasSize -}}
{{- $bytes := include "yizhan.quantityBytes" $size -}}
{{- $sameSize := eq $wasSize $size -}}
{{- if and $wasBytes $bytes -}}
{{- $sameSize = eq $wasBytes $bytes -}}
{{- end -}}
{{- if not $sameSize -}}
{{- if and $wasBytes $bytes (lt ($bytes | int64) ($wasBytes | int64)) -}}
{{- fail (printf "yizhan: persistence.size %s → %s: StatefulSet %s's claims ask %s each, a claim cannot shrink, and %s. Keep persistence.size %s as installed" $wasSize $size $fullname $wasSize $why $wasSize) -}}
{{- end -}}
{{- $prefix := include "yizhan.liveEnv" (list $live "YIZHAN_NAME") -}}
{{- $pin := "the nodeNamePrefix the release's NOTES print" -}}
{{- if hasSuffix "$(POD_NAME)" $prefix -}}
{{- $pin = printf "nodeNamePrefix %q" (trimSuffix "$(POD_NAME)" $prefix) -}}
{{- end -}}
{{- fail (printf "yizhan: persistence.size %s → %s: StatefulSet %s's volumeClaimTemplates ask %s for each node's claim, and %s. Grow the claims themselves instead, on a storage class with allowVolumeExpansion: for n in %s; do kubectl -n %s patch pvc data-%s-$n -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"%s\"}}}}'; done; and keep persistence.size %s as installed. Or, once they are grown, to have the template ask %s too (for claims made later), delete the StatefulSet alone before the upgrade (kubectl -n %s delete statefulset %s --cascade=orphan: its pods and claims stay) and upgrade with persistence.size %s and %s (the node names cannot be read while the StatefulSet is away). %s" $wasSize $size $fullname $wasSize $why (join " " $ordinals) $ns $fullname $size $wasSize $size $ns $fullname $size $pin $see) -}}
{{- end -}}

{{- /* persistence.storageClass, as the value that renders it */ -}}
{{- $wasClass := "" -}}
{{- if hasKey $cspec "storageClassName" -}}
{{- $wasClass = default "-" (toString (default "" (get $cspec "storageClassName"))) -}}
{{- end -}}
{{- $class := toString (default "" $p.storageClass) -}}
{{- if ne $wasClass $class -}}
{{- $installed := printf "%q" $wasClass -}}
{{- if not $wasClass -}}
{{- $installed = "\"\" (unset: each claim got the cluster's default class when it was made" -}}
{{- $pvc := lookup "v1" "PersistentVolumeClaim" $ns (printf "data-%s-0" $fullname) -}}
{{- with $pvc -}}
{{- with (dig "spec" "storageClassName" "" .) -}}
{{- $installed = printf "%s; data-%s-0's is %s, but the template names none" $installed $fullname . -}}
{{- end -}}
{{- end -}}
{{- $installed = printf "%s)" $installed -}}
{{- else if eq $wasClass "-" -}}
{{- $installed = "\"-\" (storageClassName \"\": no dynamic provisioning)" -}}
{{- end -}}
{{- $keep := printf "Set persistence.storageClass %q as installed" $wasClass -}}
{{- if not $wasClass -}}
{{- $keep = "Leave persistence.storageClass unset (\"\") as installed" -}}
{{- end -}}
{{- fail (printf "yizhan: persistence.storageClass %q, but StatefulSet %s was installed with %s, and %s; nor can a bound claim change its class. %s. Moving the office to another storage class is a new install on new claims with a backup of the office restored into them (%s; docs/OPERATIONS.md, \"Restoring\")" $class $fullname $installed $why $keep $see) -}}
{{- end -}}

{{- /* persistence.accessModes */ -}}
{{- $wasModes := list -}}
{{- range (default (list) (get $cspec "accessModes")) -}}
{{- $wasModes = append $wasModes (toString .) -}}
{{- end -}}
{{- $modes := list -}}
{{- range (default (list) $p.accessModes) -}}
{{- $modes = append $modes (toString .) -}}
{{- end -}}
{{- if ne (join "," $wasModes) (join "," $modes) -}}
{{- fail (printf "yizhan: persistence.accessModes [%s] → [%s]: StatefulSet %s's claims were made [%s], and %s. Set persistence.accessModes [%s] as installed; other access modes are a new install with a backup of the office restored into it (%s)" (join ", " $wasModes) (join ", " $modes) $fullname (join ", " $wasModes) $why (join ", " $wasModes) $see) -}}
{{- end -}}

{{- /* persistence.annotations */ -}}
{{- $wasNotes := dict -}}
{{- range $k, $v := (dig "metadata" "annotations" (dict) $claim) -}}
{{- $_ := set $wasNotes $k (toString $v) -}}
{{- end -}}
{{- $notes := dict -}}
{{- range $k, $v := (default (dict) $p.annotations) -}}
{{- $_ := set $notes $k (toString $v) -}}
{{- end -}}
{{- if ne (toJson $wasNotes) (toJson $notes) -}}
{{- fail (printf "yizhan: persistence.annotations %s → %s: StatefulSet %s's claim template has %s, and %s. Set persistence.annotations %s as installed, and annotate the claims themselves (kubectl -n %s annotate pvc %s KEY=VALUE)" (toJson $wasNotes) (toJson $notes) $fullname (toJson $wasNotes) $why (toJson $wasNotes) $ns (join " " $claims)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
An upgrade must not rename the StatefulSet (fullnameOverride set,
changed or unset): helm would create one under the new name, with new,
empty claims, and delete the running one with its pods (and its claims,
with persistentVolumeClaimRetentionPolicy whenDeleted: Delete). Called
when no StatefulSet of the new name runs: looks for one of this release
under another name.
*/}}
{{- define "yizhan.checkNameKept" -}}
{{- $fullname := include "yizhan.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $all := lookup "apps/v1" "StatefulSet" $ns "" -}}
{{- $old := dict -}}
{{- range (default (list) (get $all "items")) -}}
{{- $l := dig "metadata" "labels" (dict) . -}}
{{- if and (eq (toString (default "" (get $l "app.kubernetes.io/instance"))) $.Release.Name) (eq (toString (default "" (get $l "app.kubernetes.io/name"))) "yizhan") -}}
{{- $old = . -}}
{{- end -}}
{{- end -}}
{{- if $old -}}
{{- $was := toString (dig "metadata" "name" "" $old) -}}
{{- $from := ternary (printf "fullnameOverride %q" (toString .Values.fullnameOverride)) "the release name, fullnameOverride unset" (not (empty .Values.fullnameOverride)) -}}
{{- $n := int (dig "spec" "replicas" 1 $old) -}}
{{- $claims := printf "data-%s-0" $was -}}
{{- if gt $n 1 -}}
{{- $claims = printf "%s … data-%s-%d" $claims $was (sub $n 1) -}}
{{- end -}}
{{- $data := "The office's data, in emptyDir volumes, would be lost with its pods" -}}
{{- if dig "spec" "volumeClaimTemplates" (list) $old -}}
{{- if eq (toString (dig "spec" "persistentVolumeClaimRetentionPolicy" "whenDeleted" "Retain" $old)) "Delete" -}}
{{- $data = printf "Its claims %s, which hold the office's data, would be deleted with it (persistentVolumeClaimRetentionPolicy whenDeleted: Delete): the office's data would be lost" $claims -}}
{{- else -}}
{{- $data = printf "Its claims %s, which hold the office's data, would be kept (whenDeleted: Retain) but used by no pod" $claims -}}
{{- end -}}
{{- end -}}
{{- $keep := printf "Set fullnameOverride %q" $was -}}
{{- if eq $was .Release.Name -}}
{{- $keep = printf "Unset fullnameOverride (StatefulSet %s is named after the release)" $was -}}
{{- end -}}
{{- fail (printf "yizhan: the name %s (%s) would rename this release's office, which runs as StatefulSet %s. Helm would create StatefulSet %s, its Services and pods on new, empty claims (data-%s-0 …): a new office with empty disks, at addresses its parent and children do not know; and it would delete StatefulSet %s and its pods, so that the addresses they reach the office at (%s-0.%s-peers.%s.svc…) stop answering. %s. %s: an office keeps the name it was installed with, which is in its pods' names and so in its node names, the raft IDs its members know each other by (a backup restores only under the names it holds). charts/yizhan/README.md, \"Upgrades\"" $fullname $from $was $fullname $fullname $was $was $was $ns $data $keep) -}}
{{- end -}}
{{- end -}}
