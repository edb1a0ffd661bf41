#!/usr/bin/env bash
# Regenerates fixtures/strace/: real strace 6.1 traces of small programs, each made with -C so strace's own
# summary table follows the trace in the same file (the oracle for src/summary.ts), plus the seed's pasted trace.
# Every command runs in a clean environment (env -i) so no host variable lands in a fixture (-v prints envp).
# <name>.cmd holds the exact command; "OUT" in it stands for the output path.
# Run from anywhere: bash scripts/make-strace-fixtures.sh [NAME ...] (only the named fixtures; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=fixtures/strace
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ENV='env -i PATH=/usr/bin:/bin LANG=C.UTF-8'
ONLY=" $* "
# wanted NAME: whether this run makes NAME.
wanted() { [ "$ONLY" = "  " ] || [[ $ONLY == *" $1 "* ]]; }

# fixture NAME COMMAND: runs COMMAND with bash in $WORK; "OUT" in COMMAND becomes the fixture's .log path.
fixture() {
  local name=$1 cmd="$ENV $2"
  wanted "$name" || return 0
  local path="$PWD/$OUT/$name.log"
  printf '%s\n' "$cmd" > "$OUT/$name.cmd"
  (cd "$WORK" && bash -c "${cmd//OUT/$path}") > /dev/null 2>&1 || true
}

# A socket round trip on 127.0.0.1 plus a UNIX socketpair, for -yy decorations.
SOCK='import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); c=socket.create_connection(s.getsockname()); a,_=s.accept(); c.send(b"hi"); a.recv(2); p,q=socket.socketpair(); p.send(b"x"); q.recv(1)'
# A read on a pipe interrupted by SIGALRM whose handler has no SA_RESTART: `= ? ERESTARTSYS`.
RESTART='import os,signal; r,w=os.pipe(); signal.signal(signal.SIGALRM, lambda *a: os.write(w, b"x")); signal.setitimer(signal.ITIMER_REAL, 0.05); os.read(r, 1)'
# An IPv6 connect: sockaddr_in6 prints `inet_pton(AF_INET6, "::1", &sin6_addr)`.
IPV6='import socket
try: socket.create_connection(("::1", 9), timeout=1)
except OSError: pass'
THREADS='import threading,time; t=threading.Thread(target=time.sleep,args=(0.1,)); t.start(); t.join()'
# Python threads doing file and socket work (a TCP server and its clients, socketpairs, files in the work dir):
# the GIL makes them interleave, so most lines are `<unfinished ...>` / `<... resumed>` halves (tens of thousands).
THREADS_IO='import os,socket,threading
def files(k):
    for i in range(75):
        p="f%d"%k
        with open(p,"wb") as f: f.write(b"x"*512)
        with open(p,"rb") as f: f.read()
        os.stat(p); os.unlink(p)
def pair(k):
    a,b=socket.socketpair()
    for i in range(150): a.send(b"ping"); b.recv(4)
def serve(s):
    for _ in range(2):
        c,_=s.accept()
        while c.recv(64): c.send(b"ok")
        c.close()
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen()
def client(k):
    c=socket.create_connection(s.getsockname())
    for i in range(100): c.send(b"hello"); c.recv(2)
    c.close()
ts=[threading.Thread(target=serve,args=(s,))]+[threading.Thread(target=f,args=(k,)) for k in range(2) for f in (files,pair,client)]
[t.start() for t in ts]; [t.join() for t in ts]'

fixture plain         'strace -C -o OUT uname -r'
fixture fork          "strace -f -C -o OUT sh -c 'ls / | wc -l'"
fixture tt-T          "strace -f -C -tt -T -o OUT sh -c 'ls / | wc -l'"
fixture tt-T-w        'strace -C -w -tt -T -o OUT cat /nonexistent /etc/hostname'
fixture ttt           'strace -C -ttt -T -o OUT cat /etc/hostname'
fixture relative      'strace -C -r -o OUT uname -r'
fixture t             'strace -C -t -o OUT uname -r'
fixture Y             "strace -f -C -Y -o OUT sh -c 'uname -r | cat'"
fixture y             'strace -C -y -o OUT cat /etc/hostname'
fixture yy-sockets    "strace -f -C -yy -o OUT python3 -S -I -c '$SOCK'"
fixture i             'strace -C -i -o OUT uname -r'
fixture k             'strace -C -k -o OUT true'
fixture n             'strace -C -n -o OUT uname -r'
fixture X-raw         'strace -C -X raw -o OUT cat /etc/hostname'
fixture X-verbose     'strace -C -X verbose -o OUT cat /etc/hostname'
fixture xx            'strace -C -xx -o OUT cat /etc/hostname'
fixture x             'strace -C -x -o OUT cat /etc/hostname'
fixture v             'strace -C -v -o OUT ls -l /etc/hostname'
fixture s8            'strace -C -s 8 -o OUT cat /etc/os-release'
fixture killed        'strace -f -C -tt -o OUT timeout -s KILL 0.3 sleep 5'
fixture timeout-term  'strace -f -C -tt -o OUT timeout 0.3 sleep 5'
fixture restart-stop  "strace -f -C -o OUT sh -c 'sleep 0.3 & p=\$!; sleep 0.05; kill -STOP \$p; kill -CONT \$p; wait'"
fixture restart-sys   "strace -C -o OUT python3 -S -I -c '$RESTART'"
fixture ipv6          "strace -C -yy -o OUT python3 -S -I -c '$IPV6'"
fixture bg-wait       "strace -f -C -o OUT sh -c 'sleep 0.1 & wait'"
fixture threads       "strace -f -C -tt -o OUT python3 -S -I -c '$THREADS'"
fixture unknown-syscall "strace -C -o OUT perl -e 'syscall(500)'"
fixture sort-calls    'strace -C -S calls -o OUT cat /nonexistent /etc/hostname'
fixture sort-name     'strace -C -S name -w -o OUT cat /nonexistent /etc/hostname'
fixture columns       'strace -C -w -U name,calls,errors,min-time,max-time,avg-time,total-time,time-percent -o OUT cat /nonexistent /etc/hostname'
fixture c-only        "strace -f -c -o OUT sh -c 'ls / | wc -l'"
fixture trace-filter  'strace -C -e trace=openat,close -o OUT cat /etc/hostname'
# No -o: trace, the program's own output and the table share one stream.
fixture interleaved   'strace -C uname -r > OUT 2>&1'
# -yy on a device nests decorations (`1</dev/null<char 1:3>>`); -s 0 prints every string as `""...`.
fixture yy-dev-s0     "strace -f -C -yy -s 0 -o OUT sh -c 'cat /etc/hostname | wc -c > /dev/null'"
# Without -o the program's output shares the stream: after `write(1, "...", N <unfinished ...>` it may stand on
# lines of its own (the interleaving depends on timing: the script may need a few runs to give one where it does, as the kept fixture does).
fixture output-lines  "strace -f -i -n -C sh -c 'echo one; ls /etc | head -3; uname -a' > OUT 2>&1"
# Without -o, `strace: Process N attached` lands inside clone3's line, which goes on with ` => {parent_tid=[N]}`
# or ` <unfinished ...>` on the next line (timing decides which; the kept fixture has both).
fixture threads-stderr "strace -f -C python3 -c 'import threading,time; ts=[threading.Thread(target=time.sleep,args=(0.02,)) for _ in range(4)]; [t.start() for t in ts]; [t.join() for t in ts]' > OUT 2>&1"
# -k prints the stack where a signal was delivered, after the `--- SIGCHLD ... ---` line.
fixture k-signal      "strace -f -C -k -o OUT sh -c 'sleep 0.05 & wait'"
# A real threaded trace (-f -tt -T -y), a few MB: kept gzipped (threads-io.log.gz); the summary bench
# concatenates copies of it, and the oracle test reads it like the other -C fixtures.
fixture threads-io    "strace -f -C -tt -T -y -o OUT python3 -S -I -c '$THREADS_IO'"
if wanted threads-io; then gzip -9nf "$OUT/threads-io.log"; fi

# The held-back kinds of issue 8, each a real trace the summary bench concatenates (bench/gen-trace.ts) and the
# oracle and fast-path agreement tests read; kept gzipped (NAME.log.gz). Forking workloads: process trees
# (xargs -P 4 of shells running small pipelines; make -j4 running recipes through sh), -f -tt -T, so split calls
# across pids, `--- SIGCHLD` and `+++ exited` lines; once written by strace to a file (-o: `PID ` prefixes) and
# once on stderr (`[pid N]` prefixes, `strace: Process N attached` messages).
FORKS='seq 1 20 | xargs -P 4 -n 1 sh -c "ls / > /dev/null; cat /etc/hostname | wc -c > /dev/null"'
MAKE_J='printf "T := \$(shell seq 1 16)\nall: \$(addprefix t,\$(T))\nt%%:\n\t@cat /etc/hostname | tr a-z A-Z > /dev/null; ls / | wc -l > /dev/null\n" | make -s -j4 -f -'
fixture forks         "strace -f -C -tt -T -o OUT sh -c '$FORKS'"
fixture forks-stderr  "strace -f -C -tt -T sh -c '$FORKS' 2> OUT"
fixture make-j        "strace -f -C -tt -T -y -o OUT sh -c '$MAKE_J'"
# A pipeline moving data through pipes (writes of 4 KiB and more, reads, most of them split across pids), with
# -f alone, -tt -T, -tt -T -y (pipe:[N] decorations), and on stderr.
PIPE='seq 1 200000 | grep 7 | sort | uniq -c > /dev/null'
fixture pipe          "strace -f -C -o OUT sh -c '$PIPE'"
fixture pipe-tt-T     "strace -f -C -tt -T -o OUT sh -c '$PIPE'"
fixture pipe-tt-T-y   "strace -f -C -tt -T -y -o OUT sh -c '$PIPE'"
fixture pipe-stderr   "strace -f -C -tt -T sh -c '$PIPE' 2> OUT"
for name in forks forks-stderr make-j pipe pipe-tt-T pipe-tt-T-y pipe-stderr; do
  if wanted "$name"; then gzip -9nf "$OUT/$name.log"; fi
done

# -ff writes one file per process (ff.PID; PIDs differ on every run) and cannot be combined with -c/-C,
# so ff.c.txt is the table of a separate -f -c run of the same command.
if wanted ff; then
  rm -f "$OUT"/ff.[0-9]*
  printf '%s\n' "$ENV strace -ff -o OUT/ff sh -c 'ls / | wc -l'" > "$OUT/ff.cmd"
  $ENV strace -ff -o "$OUT/ff" sh -c 'ls / | wc -l' > /dev/null
  printf '%s\n' "$ENV strace -f -c -o OUT/ff.c.txt sh -c 'ls / | wc -l'" > "$OUT/ff.c.cmd"
  $ENV strace -f -c -o "$OUT/ff.c.txt" sh -c 'ls / | wc -l' > /dev/null
fi

# The seed document's `strace uname -r`, as pasted (flattened onto one line, program output glued into write).
SEED=/work/shared/seed/000_6a08f6980af9da7a.txt
if wanted seed-uname-flattened && [ -r "$SEED" ]; then
  grep -o 'execve("/bin/uname".*+++ exited with 0 +++' "$SEED" > "$OUT/seed-uname-flattened.txt"
  printf '%s\n' "grep -o 'execve(\"/bin/uname\".*+++ exited with 0 +++' $SEED" > "$OUT/seed-uname-flattened.cmd"
fi
