#!/usr/bin/env bash
# Regenerates fixtures/runsc/ (runsc --strace debug logs) and fixtures/perf/ (perf trace output of
# host, runc and runsc runs). Needs root, runsc, runc, perf and busybox. Each fixture has a
# <name>.cmd beside it holding the exact command that made it (temp paths as they were).
# Run from anywhere: bash scripts/make-runtime-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNSC_OUT=$ROOT/fixtures/runsc
PERF_OUT=$ROOT/fixtures/perf
mkdir -p "$RUNSC_OUT" "$PERF_OUT"

WORK=$(mktemp -d /tmp/trace-compare-fixtures.XXXXXX)
RUNSC_STATE=$WORK/runsc-state
RUNC_STATE=$WORK/runc-state
mkdir -p "$RUNSC_STATE" "$RUNC_STATE"
CREATED_RUNSC=()
CREATED_RUNC=()

cleanup() {
  local id
  for id in "${CREATED_RUNSC[@]}"; do runsc --root "$RUNSC_STATE" delete -force "$id" >/dev/null 2>&1 || true; done
  for id in "${CREATED_RUNC[@]}"; do runc --root "$RUNC_STATE" delete -f "$id" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# bundle NAME ARGS...: a busybox-static OCI bundle in $WORK/NAME running ARGS, no terminal.
bundle() {
  local dir=$WORK/$1
  shift
  mkdir -p "$dir/rootfs/bin"
  cp "$(command -v busybox)" "$dir/rootfs/bin/busybox"
  local applet
  for applet in sh uname cat echo ls kill true; do ln -sf busybox "$dir/rootfs/bin/$applet"; done
  (cd "$dir" && rm -f config.json && runsc spec -- "$@")
  sed -i 's/"terminal": true/"terminal": false/' "$dir/config.json"
  ! grep -q '"terminal": true' "$dir/config.json" # runsc spec omits it: false
}

# record FILE CMD...: writes the exact command to FILE, then runs it (a failing workload is fine).
record() {
  local cmdfile=$1
  shift
  printf '%q ' "$@" | sed 's/ $//' > "$cmdfile"
  echo >> "$cmdfile"
  "$@" > /dev/null 2>&1 || true
}

# runsc_log NAME ARGS...: runsc --strace debug logs of ARGS in fixtures/runsc/NAME/.
runsc_log() {
  local name=$1
  shift
  bundle "b-$name" "$@"
  rm -rf "${RUNSC_OUT:?}/$name"
  mkdir -p "$RUNSC_OUT/$name"
  local id="tcfix-$name-$$"
  CREATED_RUNSC+=("$id")
  (cd "$WORK/b-$name" && record "$RUNSC_OUT/$name.cmd" \
    runsc --root "$RUNSC_STATE" --network=none --strace --debug-log="$RUNSC_OUT/$name/" run "$id")
  runsc --root "$RUNSC_STATE" delete -force "$id" >/dev/null 2>&1 || true
}

runsc_log uname /bin/uname -r
runsc_log failing /bin/ls /nonexistent
runsc_log sh-echo-cat /bin/sh -c 'echo hi > /tmp/f; cat /tmp/f'
runsc_log killed /bin/sh -c 'kill -SEGV $$'

# perf trace. PLAIN is what the runners use; SCHED adds fork/exec tracepoints, which name parent
# and child by host pid even inside pid namespaces (clone's return value there is not).
# perf renames an existing output file to FILE.old: start clean.
rm -f "$PERF_OUT"/*.txt "$PERF_OUT"/*.old
PLAIN=(perf trace -f)
SCHED=(perf trace -f --syscalls -e sched:sched_process_fork,sched:sched_process_exec)

(cd "$WORK" && record "$PERF_OUT/host-uname.cmd" "${PLAIN[@]}" -o "$PERF_OUT/host-uname.txt" -- uname -r)
(cd "$WORK" && record "$PERF_OUT/host-sh-sched.cmd" "${SCHED[@]}" -o "$PERF_OUT/host-sh-sched.txt" -- sh -c 'uname -r; (true)')

bundle b-perf /bin/uname -r
id="tcfix-runc-$$"
CREATED_RUNC+=("$id")
(cd "$WORK/b-perf" && record "$PERF_OUT/runc-uname.cmd" "${PLAIN[@]}" -o "$PERF_OUT/runc-uname.txt" -- runc --root "$RUNC_STATE" run "$id")
runc --root "$RUNC_STATE" delete -f "$id" >/dev/null 2>&1 || true

for variant in plain sched; do
  id="tcfix-runsc-$variant-$$"
  CREATED_RUNSC+=("$id")
  if [ "$variant" = plain ]; then name=runsc-uname; tool=("${PLAIN[@]}"); else name=runsc-uname-sched; tool=("${SCHED[@]}"); fi
  (cd "$WORK/b-perf" && record "$PERF_OUT/$name.cmd" "${tool[@]}" -o "$PERF_OUT/$name.txt" -- runsc --root "$RUNSC_STATE" --network=none run "$id")
  runsc --root "$RUNSC_STATE" delete -force "$id" >/dev/null 2>&1 || true
done

ls -la "$RUNSC_OUT" "$RUNSC_OUT"/* "$PERF_OUT"
