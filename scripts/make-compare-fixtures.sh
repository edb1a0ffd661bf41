#!/usr/bin/env bash
# Regenerates fixtures/compare/: host traces made with the same strace flags the host runner uses
# (src/runners/bundle.ts STRACE_FLAGS), for the diff tests. Each fixture gets a .cmd with its command.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
out=fixtures/compare
mkdir -p "$out"
record() { # name, command...
  local name=$1; shift
  env -i PATH=/usr/bin:/bin LANG=C.UTF-8 strace -f -v -s 256 -o "$out/$name.log" "$@" >/dev/null
  printf 'env -i PATH=/usr/bin:/bin LANG=C.UTF-8 strace -f -v -s 256 -o %s %s\n' "$out/$name.log" "$*" > "$out/$name.cmd"
}
record host-uname uname -r
