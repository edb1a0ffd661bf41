#!/usr/bin/env bash
# Regenerates src/runners/confinement/: containerd's own default confinement, rendered by containerd.
#   seccomp-runtime-default.json              linux.seccomp of a container made with `ctr ... --seccomp`
#                                             (what a Kubernetes `RuntimeDefault` pod gets on containerd)
#   seccomp-runtime-default-sys-ptrace.json   the same with `--cap-add CAP_SYS_PTRACE`: containerd's
#                                             profile resolves its capability-conditional rules against
#                                             the spec's bounding set, so each cap set needs its render
#   containerd-defaults.json                  provenance (versions, kernel, exact commands) plus the
#                                             default and --privileged capabilities, device rules,
#                                             masked/readonly paths
# Nothing here is typed by hand: a private containerd (own config, root, state, sockets in a temp dir)
# is started, `ctr containers create` builds the specs client-side from containerd's defaults, and
# `ctr containers info --spec` prints them. `ctr oci spec` would need no daemon but never adds seccomp.
# `--rootfs` on an empty dir stands in for an image: the generated spec does not depend on one here
# (no image config: no user, env or args to merge), so no image has to be built or imported.
# Needs root and Debian's containerd package (1.6, with ctr) and jq. Everything it starts or creates is
# removed on exit. Run from anywhere: bash scripts/make-seccomp-profile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$PWD/src/runners/confinement
[ "$(id -u)" = 0 ] || { echo "make-seccomp-profile: needs root (containerd)" >&2; exit 1; }
for t in containerd ctr jq; do command -v "$t" >/dev/null || { echo "make-seccomp-profile: $t missing (apt-get install containerd jq)" >&2; exit 1; }; done

WORK=$(mktemp -d /tmp/trace-compare-containerd.XXXXXX)
SOCK=$WORK/containerd.sock
NS=trace-compare
PID=
cleanup() {
  if [ -n "$PID" ]; then
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PID" 2>/dev/null || true
  fi
  # containerd mounts nothing for metadata-only containers; unmount defensively anyway.
  { grep -o " $WORK[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

mkdir -p "$WORK/root" "$WORK/state" "$WORK/opt" "$WORK/rootfs"
# Every path containerd would write to points into $WORK, including the opt plugin (default /opt/containerd).
cat >"$WORK/config.toml" <<EOF
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$WORK/opt"
EOF
containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { cat "$WORK/containerd.log" >&2; exit 1; }

ctr_() { ctr --address "$SOCK" --namespace "$NS" "$@"; }
# spec NAME FLAGS...: the OCI spec containerd generates for a container made with FLAGS.
spec() {
  local name=$1
  shift
  ctr_ containers create --rootfs "$@" "$WORK/rootfs" "$name" /bin/true >/dev/null
  ctr_ containers info --spec "$name" >"$WORK/$name.json"
  ctr_ containers rm "$name" >/dev/null
}
spec default --seccomp
spec ptrace --seccomp --cap-add CAP_SYS_PTRACE
spec privileged --privileged

jq --indent 2 '.linux.seccomp' "$WORK/default.json" >"$OUT/seccomp-runtime-default.json"
jq --indent 2 '.linux.seccomp' "$WORK/ptrace.json" >"$OUT/seccomp-runtime-default-sys-ptrace.json"

CMD="ctr --address SOCK --namespace $NS containers create --rootfs FLAGS EMPTY_DIR ID /bin/true; ctr containers info --spec ID"
jq --indent 2 -n \
  --arg containerd "$(containerd --version)" \
  --arg ctr "$(ctr --version)" \
  --arg server "$(ctr_ version | awk '/^Server:/{s=1} s&&/Version:/{print $2; exit}')" \
  --arg kernel "$(uname -r)" --arg machine "$(uname -m)" \
  --arg capbnd "$(awk '/^CapBnd:/{print $2}' /proc/self/status)" \
  --arg cmd "$CMD" --arg script "scripts/make-seccomp-profile.sh" \
  --slurpfile d "$WORK/default.json" --slurpfile p "$WORK/ptrace.json" --slurpfile v "$WORK/privileged.json" '
  {
    generated: {
      by: $script,
      containerd: $containerd, ctr: $ctr, containerdVersion: $server,
      command: $cmd,
      files: {
        "seccomp-runtime-default.json": "FLAGS = --seccomp; .linux.seccomp",
        "seccomp-runtime-default-sys-ptrace.json": "FLAGS = --seccomp --cap-add CAP_SYS_PTRACE; .linux.seccomp"
      },
      privilegedFlags: "--privileged",
      kernel: $kernel, machine: $machine,
      note: "minKernel rules of the profile are resolved for this kernel; --privileged grants the caller'"'"'s own capabilities (CapBnd of the generating process)",
      callerCapBnd: $capbnd
    },
    capabilities: $d[0].process.capabilities.bounding,
    capabilitiesWithSysPtrace: $p[0].process.capabilities.bounding,
    privilegedCapabilities: $v[0].process.capabilities.bounding,
    maskedPaths: $d[0].linux.maskedPaths,
    readonlyPaths: $d[0].linux.readonlyPaths,
    devices: $d[0].linux.resources.devices,
    privilegedDevices: $v[0].linux.resources.devices,
    namespaces: [$d[0].linux.namespaces[].type],
    noNewPrivileges: $d[0].process.noNewPrivileges,
    privilegedSeccomp: ($v[0].linux.seccomp != null),
    privilegedMaskedPaths: ($v[0].linux.maskedPaths // [])
  }' >"$OUT/containerd-defaults.json"
echo "make-seccomp-profile: wrote $(cd "$OUT" && ls | tr '\n' ' ')"
