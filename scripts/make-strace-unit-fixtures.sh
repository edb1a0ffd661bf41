#!/usr/bin/env bash
# Regenerates fixtures/strace-unit/: small real strace 6.1 traces for the parser's unit tests.
# Each <name>.trace is written beside <name>.cmd, which holds the exact command that made it.
# Run from the repository root: bash scripts/make-strace-unit-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=fixtures/strace-unit
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# fixture NAME COMMAND: runs COMMAND with bash in $WORK (where core files land), in a minimal
# environment (-v prints the whole environment: keep the host's out of the fixtures), stdout
# discarded unless the command redirects it. The string "OUT" in COMMAND is the trace path.
# The command line is recorded as written.
CLEAN_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8)
fixture() {
  local name=$1 cmd=$2
  local path="$PWD/$OUT/$name.trace"
  printf '%s\n' "$cmd" > "$OUT/$name.cmd"
  (cd "$WORK" && "${CLEAN_ENV[@]}" bash -c "${cmd//OUT/$path}" > /dev/null) || true
}

fixture uname-plain        'strace -o OUT uname -r'
fixture uname-interleaved  'strace uname -r > OUT 2>&1'
fixture ls-full            'strace -f -tt -T -y -yy -i -n -Y -X verbose -xx -v -s 64 -o OUT ls /'
fixture cat-stack          'strace -k -tt -T -o OUT cat /etc/hostname'
fixture sh-child-signal    'strace -f -tt -T -o OUT sh -c '"'"'trap ":" USR1; kill -USR1 $$; sleep 0.05 & wait'"'"''
fixture sh-child-stderr    'strace -f -tt -T sh -c '"'"'echo hi; sleep 0.05 & wait'"'"' > OUT 2>&1'
fixture timeout-killed     'strace -f -ttt -T -o OUT timeout 0.2 sleep 5'
fixture timeout-sigkill     'strace -f -tt -o OUT timeout -s KILL 0.2 sleep 5'
fixture relative           'strace -r -o OUT uname -r'
fixture seconds            'strace -t -o OUT true'
fixture core-dumped        'strace -o OUT sh -c '"'"'ulimit -c unlimited; kill -SEGV $$'"'"''
fixture stopped            'strace -f -o OUT sh -c '"'"'sh -c "kill -STOP \$\$; echo resumed" & sleep 0.2; kill -CONT $!; wait'"'"''
fixture unknown-syscall    'strace -o OUT perl -e '"'"'syscall(500)'"'"''
fixture attach             'sleep 0.6 & sleep 0.1; timeout -s INT 0.2 strace -tt -p $! > OUT 2>&1; wait'
fixture numbers-ip         'strace -n -i -Y -o OUT true'

# -ff: one file per process, named prefix.PID (PIDs differ on every run).
rm -f "$OUT"/ff.*
printf '%s\n' 'strace -ff -tt -o OUT/ff sh -c "echo a; (echo b); sleep 0.01 & wait"' > "$OUT/ff-set.cmd"
(cd "$WORK" && "${CLEAN_ENV[@]}" strace -ff -tt -o "$OLDPWD/$OUT/ff" sh -c "echo a; (echo b); sleep 0.01 & wait" > /dev/null)
rm -f "$WORK"/core*
