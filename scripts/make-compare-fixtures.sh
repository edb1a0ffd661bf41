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

# A live three-way run kept on disk: each environment's workload log and perf trace, plus the JSON the run
# printed, so that `diff` of the saved logs can be checked against the live numbers. Needs root.
if [ "$(id -u)" = 0 ]; then
  run=$out/run-uname
  rm -rf "$run" && mkdir -p "$run"
  err=$(mktemp)
  ./bin/trace-compare.js uname -r --pod runc --pod gvisor --format json --keep-temp > "$run/live.json" 2> "$err"
  echo './bin/trace-compare.js uname -r --pod runc --pod gvisor --format json --keep-temp > live.json (then the kept files copied here by scripts/make-compare-fixtures.sh)' > "$run/live.cmd"
  while read -r _ env _ _ _ dir; do
    env=${env%:}
    mkdir -p "$run/$env"
    cp "$dir/out/perf.txt" "$run/$env/perf.txt"
    if [ -d "$dir/out/runsc" ]; then cp "$dir"/out/runsc/*.boot.txt "$run/$env/"; else cp "$dir/out/strace.log" "$run/$env/strace.log"; fi
    rm -rf "$dir"
  done < <(grep 'files kept in' "$err")
  rm -f "$err"
  # Kept paths are private temp dirs: keep the JSON free of them.
  node -e 'const f=process.argv[1]; const c=JSON.parse(require("fs").readFileSync(f,"utf8")); for (const e of c.environments) e.sources=[]; require("fs").writeFileSync(f, JSON.stringify(c,null,2)+"\n")' "$run/live.json"
fi
