#!/usr/bin/env bash
# A private containerd for trace-compare's CRI backend (--backend cri), for machines without one:
#   bash scripts/setup-cri.sh start|stop|status
# Everything lives in one dir (TRACE_COMPARE_CRI_DIR, default /run/trace-compare-cri): its config, root,
# state, socket (containerd.sock), log, pid file, the runtime wrappers and the runtimes' state roots. It
# never touches /etc/containerd, /var/lib/containerd or a system containerd. Idempotent; root only.
#
# Two runtime handlers, both on containerd's runc v2 shim (Debian has no containerd-shim-runsc-v1) with a
# BinaryName wrapper:
#   runc   -> bin/runc:  runc, minus process.oomScoreAdj (below)
#   runsc  -> bin/runsc: runsc --network=none --allow-flag-override, minus process.oomScoreAdj; the
#             override lets each pod name its own Sentry strace log (dev.gvisor.flag.* annotations, which
#             pod_annotations passes through to the OCI spec)
# Why drop oomScoreAdj: containerd gives the pause container -998, and lowering oom_score_adj needs
# CAP_SYS_RESOURCE, which root lacks in some containers (this CI's): runc then fails with "can't get final
# child's PID from pipe" and runsc 20221219 writes a garbled value. restrict_oom_score_adj does not help.
# No registry is reachable: the sandbox (pause) image is built here from busybox-static and imported.
set -euo pipefail

DIR=${TRACE_COMPARE_CRI_DIR:-/run/trace-compare-cri}
SOCK=$DIR/containerd.sock
PIDFILE=$DIR/containerd.pid
LOG=$DIR/containerd.log
IMAGE=localhost/trace-compare/sandbox:1
NS=k8s.io

die() { echo "setup-cri: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || die "$1 is not installed (apt-get install $2)"; }

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # The pid is ours only while it is still a containerd reading our config.
  # (The redirect is inside the braces so that a gone pid's missing /proc entry is not reported.)
  { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "--config $DIR/config.toml" || return 1
  echo "$pid"
}

ctr_() { ctr --address "$SOCK" -n "$NS" "$@"; }

write_wrappers() {
  local node; node=$(command -v node) || die "node is not on PATH"
  local runc; runc=$(command -v runc || echo /usr/sbin/runc)
  local runsc; runsc=$(command -v runsc) || die "runsc is not installed (apt-get install runsc)"
  [ -n "$DIR" ] || die "no state dir"
  mkdir -p "$DIR/bin" "$DIR/runtimes/runsc-started"
  # Removes process.oomScoreAdj from the bundle's config.json and prints the CRI container type (sandbox
  # or container) and the cgroups path. Constant program text; the path reaches it as an argument. JSON is edited by a JSON
  # parser, never by sed.
  cat > "$DIR/bin/drop-oom-score-adj.mjs" <<'EOF'
import { readFileSync, writeFileSync } from 'node:fs';
const file = process.argv[2];
const spec = JSON.parse(readFileSync(file, 'utf8'));
if (spec.process && 'oomScoreAdj' in spec.process) {
  delete spec.process.oomScoreAdj;
  writeFileSync(file, JSON.stringify(spec));
}
process.stdout.write(`${spec.annotations?.['io.kubernetes.cri.container-type'] ?? ''}\n${spec.linux?.cgroupsPath ?? ''}\n`);
EOF
  # The wrapper itself: constant text (arguments: handler kind, runtime binary, node, state dir, then the shim's).
  cat > "$DIR/bin/wrap.sh" <<'EOF'
# Written by scripts/setup-cri.sh: a BinaryName wrapper for containerd's runc v2 shim.
kind=$1; rt=$2; node=$3; dir=$4; shift 4
extra=(); [ "$kind" = runsc ] && extra=(--network=none --allow-flag-override)
args=("$@"); n=${#args[@]}; global=(); i=0
while [ "$i" -lt "$n" ]; do
  case "${args[$i]}" in create|start|delete|kill|state|exec|ps|pause|resume|update|events|checkpoint|restore|features|run|wait) break ;; esac
  global+=("${args[$i]}"); i=$((i + 1))
done
sub=${args[$i]:-}; id=${args[$((n - 1))]:-}; bundle=''; prev=''
for a in "$@"; do
  case "$prev" in --bundle|-b) bundle=$a ;; esac
  case "$a" in --bundle=*) bundle=${a#--bundle=} ;; esac
  prev=$a
done
[[ "$id" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || id=''
mark="$dir/runtimes/runsc-started/$id"
case "$sub" in
  create)
    [ -n "$bundle" ] || exec "$rt" "${extra[@]}" "$@"
    { read -r type; read -r cgpath; } < <("$node" "$dir/bin/drop-oom-score-adj.mjs" "$bundle/config.json") || exit 1
    [ -n "$type" ] || exit 1
    # On a hybrid cgroup host runsc joins the v1 controllers only; its processes (gofer, Sentry, stubs) then
    # sit at the cgroup2 root, where a cgroup-scoped view (perf -G) cannot see them. Joining the container's
    # cgroup2 here, before runsc starts, puts them where runc puts a container's.
    u=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
    if [ "$kind" = runsc ] && [ -n "$u" ] && [ "$u" != /sys/fs/cgroup ] && [[ "$cgpath" =~ ^(/[A-Za-z0-9_.-]+)+$ ]] && [[ "$cgpath" != *..* ]]; then
      mkdir -p "$u$cgpath" && echo $$ > "$u$cgpath/cgroup.procs" || exit 1
    fi
    if [ "$kind" = runsc ] && [ "$type" = container ] && [ -n "$id" ]; then
      # runsc gives a pod's container the stdio of `runsc start`, which the runc shim runs with none:
      # start it here, where the shim's pipes are this process's stdio; the shim's start is then a no-op.
      "$rt" "${extra[@]}" "$@" || exit $?
      "$rt" "${extra[@]}" "${global[@]}" start "$id" || exit $?
      : > "$mark"
      exit 0
    fi ;;
  start) if [ -n "$id" ] && [ -e "$mark" ]; then rm -f "$mark"; exit 0; fi ;;
  delete) [ -n "$id" ] && rm -f "$mark" ;;
esac
exec "$rt" "${extra[@]}" "$@"
EOF
  local rt bin
  for rt in runc runsc; do
    if [ "$rt" = runc ]; then bin=$runc; else bin=$runsc; fi
    printf '#!/bin/sh\nexec /bin/bash %q %q %q %q %q "$@"\n' "$DIR/bin/wrap.sh" "$rt" "$bin" "$node" "$DIR" > "$DIR/bin/$rt.new"
    chmod 0755 "$DIR/bin/$rt.new"
    mv -f "$DIR/bin/$rt.new" "$DIR/bin/$rt"
  done
}

write_config() {
  mkdir -p "$DIR/cni/bin" "$DIR/cni/net.d" "$DIR/opt" "$DIR/root" "$DIR/state" "$DIR/runtimes/runc" "$DIR/runtimes/runsc"
  cat > "$DIR/config.toml" <<EOF
# Written by scripts/setup-cri.sh: trace-compare's private containerd.
version = 2
root = "$DIR/root"
state = "$DIR/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$DIR/debug.sock"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$IMAGE"
  # Pods use the node's network (NamespaceOption.network = NODE): no CNI. A random port: no clash with another containerd.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$DIR/cni/bin"
    conf_dir = "$DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$DIR/bin/runc"
        Root = "$DIR/runtimes/runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]
      runtime_type = "io.containerd.runc.v2"
      pod_annotations = ["dev.gvisor.*"]
      container_annotations = ["dev.gvisor.*"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc.options]
        BinaryName = "$DIR/bin/runsc"
        Root = "$DIR/runtimes/runsc"
EOF
}

# A docker-archive of one layer: the host's top-level layout (its /bin -> usr/bin style links, empty
# mountpoints) and busybox-static as sleep where /bin leads. Pods sleep in it; workload containers get
# the host's system dirs mounted over it, so the links resolve as on the host.
build_image() {
  local work; work=$(mktemp -d)
  local root=$work/rootfs
  mkdir -p "$root"
  for d in bin sbin lib lib32 lib64 libx32 usr; do
    if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$root/$d"
    elif [ -d "/$d" ]; then mkdir -p "$root/$d"
    fi
  done
  mkdir -p "$root/usr" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/root" "$root/run" "$root/tmp" "$root/var/tmp"
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 0700 "$root/root"
  local bindir; bindir=$(readlink -f /bin)
  mkdir -p "$root$bindir"
  cp /bin/busybox "$root$bindir/busybox"
  ln -sf busybox "$root$bindir/sleep"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$root" -cf "$work/layer.tar" .
  local diff; diff=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/bin/sleep","3600"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$(dpkg --print-architecture 2>/dev/null || echo amd64)" "$diff" > "$work/config.json"
  local cfg; cfg=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  mv "$work/config.json" "$work/$cfg.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$cfg" "$IMAGE" > "$work/manifest.json"
  tar -C "$work" -cf "$work/image.tar" manifest.json "$cfg.json" layer.tar
  local ok=0
  ctr_ images import "$work/image.tar" >/dev/null || ok=$?
  rm -rf "$work"
  [ "$ok" = 0 ] || die "ctr images import failed"
}

start() {
  [ "$(id -u)" = 0 ] || die "needs root"
  need containerd containerd; need ctr containerd; need runc runc; need runsc runsc
  [ -x /bin/busybox ] || die "busybox-static is not installed (apt-get install busybox-static)"
  mkdir -p "$DIR"; chmod 0711 "$DIR"
  write_wrappers
  local pid
  if pid=$(running_pid); then
    echo "setup-cri: containerd already running (pid $pid, $SOCK)"
  else
    write_config
    rm -f "$SOCK" "$SOCK.ttrpc"
    # Outlives this script (and setup.sh): own session, no terminal, output to the log.
    setsid nohup containerd --config "$DIR/config.toml" >>"$LOG" 2>&1 </dev/null &
    echo $! > "$PIDFILE"
    local i
    for i in $(seq 1 100); do
      ctr --address "$SOCK" version >/dev/null 2>&1 && break
      running_pid >/dev/null || die "containerd exited at start; see $LOG: $(tail -n 3 "$LOG" | tr '\n' ' ')"
      sleep 0.1
    done
    ctr --address "$SOCK" version >/dev/null 2>&1 || die "containerd does not answer on $SOCK after 10 s; see $LOG"
    echo "setup-cri: containerd started (pid $(cat "$PIDFILE"), $SOCK)"
  fi
  if ! ctr_ images ls -q | grep -qxF "$IMAGE"; then
    build_image
    echo "setup-cri: sandbox image $IMAGE imported"
  fi
}

stop() {
  local pid
  if pid=$(running_pid); then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "setup-cri: containerd stopped (pid $pid)"
  else
    echo "setup-cri: containerd not running"
  fi
  rm -f "$PIDFILE"
  # Shims outlive containerd by design; those of this containerd (and what they run) go with it.
  local p
  for p in $(pgrep -f -- "-address $SOCK( |\$)" || true); do kill -KILL "$p" 2>/dev/null || true; done
  for p in $(pgrep -f -- "--root[= ]$DIR/runtimes/" || true); do kill -KILL "$p" 2>/dev/null || true; done
}

status() {
  local pid
  if pid=$(running_pid) && ctr --address "$SOCK" version >/dev/null 2>&1; then
    echo "running: pid $pid, endpoint unix://$SOCK, handlers runc runsc, image $IMAGE"
  else
    echo "not running (endpoint unix://$SOCK)"
    exit 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
