#!/usr/bin/env bash
# shardtest.sh SHARDS PACKAGE [test binary flags...]
#
# Runs one package's tests in SHARDS processes at once: the package's test
# binary is built once (under the race detector when the caller sets
# RACEFLAG=-race), its tests are dealt out by name in
# turn, and each process runs its share from the package's directory, as
# go test would. The node package's tests mostly wait (for elections, for
# links to heal, for mail to go round): run one after another they take
# about 14 minutes under the race detector while using a third of a core,
# so three processes finish in about a third of the time.
#
# A failing shard's output is printed whole (a passing one's is not, as go
# test does for a package that passes); the script fails when any shard
# fails, and says which.
set -euo pipefail

shards=${1:?usage: shardtest.sh SHARDS PACKAGE [flags...]}
pkg=${2:?usage: shardtest.sh SHARDS PACKAGE [flags...]}
shift 2
go=${GO:-go}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dir=$("$go" list -f '{{.Dir}}' "$pkg")
bin="$work/pkg.test"
# shellcheck disable=SC2086 # RACEFLAG is empty or one flag
"$go" test ${RACEFLAG:-} -c -o "$bin" "$pkg"

# Every test, fuzz target and example (their seed corpora run as tests);
# benchmarks are not run by go test without -bench.
mapfile -t names < <(cd "$dir" && "$bin" -test.list '.*' | grep -v '^Benchmark' | sort)
if [ "${#names[@]}" -eq 0 ]; then
  echo "shardtest: $pkg has no tests" >&2
  exit 1
fi

pids=()
for ((s = 0; s < shards; s++)); do
  share=()
  for ((i = s; i < ${#names[@]}; i += shards)); do
    share+=("${names[i]}")
  done
  [ "${#share[@]}" -gt 0 ] || continue
  pattern="^($(IFS='|'; echo "${share[*]}"))\$"
  (cd "$dir" && exec "$bin" -test.run "$pattern" "$@") >"$work/shard$s.out" 2>&1 &
  pids+=("$s:$!")
done

failed=()
for entry in "${pids[@]}"; do
  s=${entry%%:*}
  pid=${entry#*:}
  if wait "$pid"; then
    status=ok
  else
    status=FAIL
    failed+=("$s")
  fi
  echo "--- shard $((s + 1))/$shards of $pkg: $status"
  # As go test over packages: a passing shard's output is not shown.
  if [ "$status" = FAIL ]; then
    cat "$work/shard$s.out"
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "shardtest: $pkg: ${#failed[@]} of $shards shards failed (see above)" >&2
  exit 1
fi
echo "ok  	$pkg	($shards shards)"
