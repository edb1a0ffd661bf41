#!/usr/bin/env bash
# Installs what trace-compare and its tests need on a fresh Debian/Ubuntu machine, then the npm packages.
# Idempotent: installs only what is missing. Debian packages need root; without it, says what to install.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have strace || need+=(strace)
have runc || need+=(runc)
have runsc || need+=(runsc)
have crun || need+=(crun)
have perf || need+=(linux-perf)
have bpftrace || need+=(bpftrace)            # the host-kernel view counted in the kernel (src/runners/bpf-count.ts)
[ -x /bin/busybox ] || need+=(busybox-static)
have containerd || need+=(containerd)        # the CRI backend's tests start a private one
have chromium || need+=(chromium)            # the HTML report is checked in a real browser
[ -e /usr/share/man/man2/read.2.gz ] || need+=(manpages-dev)   # syscall descriptions (annotations)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: missing ${need[*]}; as root run: apt-get install ${need[*]} (tests that need them will skip)" >&2
  fi
fi

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("setup: Node >= 20.19 needed, found "+process.versions.node); process.exit(1) }'
# npm ci also compiles (the prepare script), so bin/trace-compare.js is runnable afterwards.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi
if [ "$(id -u)" = 0 ] && command -v containerd >/dev/null 2>&1; then bash scripts/setup-cri.sh start; fi  # a private containerd for --backend cri (docs/cri.md)
