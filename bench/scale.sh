#!/usr/bin/env bash
# bench/scale.sh — ftpbench at scale against a real server: USERS concurrent
# user-PIs (default 8,000), each with its own control connection, against one
# pyftpdlib on loopback, in a run of about 1.5 minutes.
#
#   bash bench/scale.sh [WORKDIR]
#
# What it measures (issue 7: "an 8,000-user run against a real server on
# loopback completes with every cycle recorded, and its memory per user is
# in the performance table"):
#   - PASV 1 KiB RETR, closed model: the active user-PIs ramp from 1 to
#     USERS over RAMP (so that the logins don't all reach the server's listen
#     queue in the same instant), then all USERS stay logged in for HOLD,
#     each pausing THINK between cycles: `ftpbench run --stages
#     RAMPs:USERS,HOLDs:USERS --think THINK -o records --format json`
#     (the run ends with the last stage, think pauses included);
#   - every cycle recorded: the records file has exactly the summary's
#     number of cycles, and their seqs are 0 … cycles−1, each once;
#   - ok cycles, failed cycles by outcome, ok cycles/s, set-up p50/p99;
#   - memory per user: ftpbench's maximum RSS (/usr/bin/time %M) ÷ USERS,
#     and pyftpdlib's peak RSS (VmHWM of /proc/PID/status, read just before
#     it is stopped) ÷ USERS; the peak number of descriptors pyftpdlib held
#     (sampled every second), to show the sessions were really open at once.
#
# Needs Go (to build ftpbench) and the Debian packages python3-pyftpdlib,
# time and jq; as root, missing ones are installed with apt-get (and it
# says so); nothing else is fetched. pyftpdlib (an asynchronous server: one
# process, epoll) runs under /usr/bin/python3 from a short launcher in
# WORKDIR (default: a temporary directory, removed at the end): anonymous
# read-only, bound to 127.0.0.1 on a port the kernel picks, passive ports
# from PASV_PORTS, listen backlog 4096 (capped by net.core.somaxconn),
# session caps raised for USERS, only warnings logged, its RLIMIT_NOFILE
# raised to the hard limit. It is stopped by its PID at the end.
#
# Why the think time and the passive range (both measured here, 2 cores):
#   - pyftpdlib accepts one connection per turn of its event loop, and a
#     turn serves every ready session: with THINK=0 the loop is saturated by
#     the users already in (about 1,500 at a time, ~600 cycles/s), the rest
#     wait in the listen queue, and about 9,000 cycles end in "greeting
#     reply: i/o timeout" or a connect timeout. With THINK=20s the 8,000
#     users ask for at most 400 cycles/s and all of them log in and stay.
#   - With passive ports left to the kernel (PASV_PORTS=''), pyftpdlib
#     binds each passive listener to port 0 without SO_REUSEADDR, in the same
#     ephemeral range as the 8,000 control connections' client ports and the
#     TIME_WAIT sockets its closed data connections leave: the range fills,
#     bind() searches it for milliseconds in the kernel (the whole machine
#     stalls for seconds), then fails with EADDRINUSE ("[Errno 98] Address
#     already in use" in PASV). A range below the ephemeral one, as
#     REAL-SERVERS.md suggests (pyftpdlib then sets SO_REUSEADDR), avoids it.
#
# Descriptors: ftpbench needs 2 per PASV user (control + data) plus 64 and
# stops at once if the hard limit is lower (cmd/ftpbench/rlimit.go);
# pyftpdlib needs 1 per session plus, for a user between PASV and the end of
# its transfer, a listener or a data connection. At a hard limit of 20,000
# (this machine) that is about 9,900 users; beyond, use `--segment`.
#
# Environment (defaults): USERS (8000), RAMP (30) and HOLD (30) in seconds, THINK (20s),
# TIMEOUT (30s: ftpbench's deadline of every read, write, dial and accept;
# one Python process serving thousands of sessions answers slowly),
# PASV_PORTS (10000-30000; empty: the kernel picks), KEEP (set: keep the
# temporary WORKDIR; a WORKDIR given as argument is always kept).
set -euo pipefail

USERS=${USERS:-8000}
RAMP=${RAMP:-30}
HOLD=${HOLD:-30}
TIMEOUT=${TIMEOUT:-30s}
THINK=${THINK:-20s}
PASV_PORTS=${PASV_PORTS-10000-30000}

repo=$(cd "$(dirname "$0")/.." && pwd)
started=$SECONDS

NAME=scale.sh
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

# --- dependencies -------------------------------------------------------
py=/usr/bin/python3 # another python3 on PATH may lack the Debian module
need_pkgs=()
if ! [ -x "$py" ] || ! "$py" -c 'import pyftpdlib' 2>/dev/null; then need_pkgs+=(python3-pyftpdlib); fi
[ -x /usr/bin/time ] || need_pkgs+=(time)
command -v jq >/dev/null || need_pkgs+=(jq)
install_missing "${need_pkgs[@]}"
command -v go >/dev/null || die "Go is needed to build ftpbench (https://go.dev/dl/)"
[ "$USERS" -ge 1 ] 2>/dev/null || die "USERS=$USERS: want a positive number"
if ! [ "$RAMP" -ge 0 ] 2>/dev/null || ! [ "$HOLD" -ge 1 ] 2>/dev/null; then
	die "RAMP=$RAMP HOLD=$HOLD: want whole seconds (HOLD at least 1)"
fi

hard_nofile=$(ulimit -Hn)
if [ "$hard_nofile" != unlimited ] && [ $((2 * USERS + 64)) -gt "$hard_nofile" ]; then
	die "USERS=$USERS needs $((2 * USERS + 64)) descriptors in ftpbench and about as many in pyftpdlib; the hard limit is $hard_nofile (raise it, or run fewer users)"
fi

# --- work directory, file, binary -------------------------------------------
make_workdir ftpbench-scale "$@"
server_pid=
sampler_pid=
cleanup() {
	if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; fi
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
	if [ -z "$keep" ]; then rm -rf "$W"; fi
}
trap cleanup EXIT

mkdir -p "$W/root" "$W/out"
chmod 755 "$W" "$W/root"
head -c 1024 /dev/urandom >"$W/root/1KiB.bin"
chmod 644 "$W/root/1KiB.bin"

say "scale.sh: building ftpbench into $W"
(cd "$repo" && go build -o "$W/ftpbench" ./cmd/ftpbench)

# --- pyftpdlib -----------------------------------------------------------------
# As internal/ftptest/pyftpdlib.go starts it, without uploads, with the
# passive ports left to the kernel, and with the caps raised for USERS:
# max_cons counts every socket of the server's loop (sessions, passive
# listeners, data connections and its own listener), so it gets 3 per user;
# max_cons_per_ip counts sessions, and every user comes from 127.0.0.1.
cat >"$W/serve.py" <<'EOF'
import logging, resource, sys, warnings
warnings.simplefilter("ignore")
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
import pyftpdlib

root, users, portfile, pasv = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
auth = DummyAuthorizer()
auth.add_anonymous(root, perm="elr")

class Handler(FTPHandler):
    pass

Handler.authorizer = auth
if pasv:
    lo, hi = (int(p) for p in pasv.split("-"))
    Handler.passive_ports = list(range(lo, hi + 1))  # bound with SO_REUSEADDR
else:
    Handler.passive_ports = None  # bind(port 0): the kernel picks, no SO_REUSEADDR
Handler.permit_foreign_addresses = False
Handler.permit_privileged_ports = False
Handler.timeout = 600
server = FTPServer(("127.0.0.1", 0), Handler, backlog=4096)
server.max_cons = 3 * users + 100
server.max_cons_per_ip = users + 100
port = server.socket.getsockname()[1]
sys.stderr.write("pyftpdlib %s serving %s on 127.0.0.1:%d, RLIMIT_NOFILE %d, max_cons %d, max_cons_per_ip %d\n"
                 % (pyftpdlib.__ver__, root, port, hard, server.max_cons, server.max_cons_per_ip))
sys.stderr.flush()
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % port)
import os
os.rename(portfile + ".tmp", portfile)
server.serve_forever(handle_exit=True)
EOF
"$py" -u "$W/serve.py" "$W/root" "$USERS" "$W/port" "$PASV_PORTS" 2>"$W/pyftpdlib.log" &
server_pid=$!
for _ in $(seq 100); do
	[ -s "$W/port" ] && break
	kill -0 "$server_pid" 2>/dev/null || die "pyftpdlib did not start: $(cat "$W/pyftpdlib.log")"
	sleep 0.1
done
[ -s "$W/port" ] || die "pyftpdlib did not start in 10 s: $(cat "$W/pyftpdlib.log")"
port=$(cat "$W/port")
url="ftp://anonymous:scale@127.0.0.1:$port"
pyver=$("$py" -c 'import pyftpdlib; print(pyftpdlib.__ver__)')

# fd_sampler: the peak number of descriptors pyftpdlib holds, each second.
fd_sampler() {
	local peak=0 n fds
	shopt -s nullglob
	while kill -0 "$server_pid" 2>/dev/null; do
		fds=("/proc/$server_pid/fd/"*)
		n=${#fds[@]}
		if [ "$n" -gt "$peak" ]; then
			peak=$n
			echo "$peak" >"$W/fd-peak"
		fi
		echo "$SECONDS $n" >>"$W/fd-samples"
		sleep 1
	done
}
echo 0 >"$W/fd-peak"
fd_sampler &
sampler_pid=$!

# --- the run ---------------------------------------------------------------------
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
tw_at_start=$(awk '$4 == "06"' /proc/net/tcp /proc/net/tcp6 2>/dev/null | wc -l)
ncpu=$(nproc)

stages="${RAMP}s:$USERS,${HOLD}s:$USERS"
say "scale.sh: $USERS users (stages $stages), PASV 1 KiB RETR, against pyftpdlib $pyver on 127.0.0.1:$port"
rc=0
/usr/bin/time -f '%M %e %U %S' -o "$W/time" "$W/ftpbench" run -m pasv --size 1KiB -c 1 --stages "$stages" \
	--think "$THINK" --timeout "$TIMEOUT" --progress-interval 5s \
	-o "$W/out/records.jsonl" --format json "$url/1KiB.bin" >"$W/out/summary.json" 2>"$W/out/ftpbench.err" || rc=$?
read -r fb_rss_kib fb_wall fb_usr fb_sys <"$W/time" || die "no /usr/bin/time output (ftpbench exit $rc): $(cat "$W/out/ftpbench.err")"

py_hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)
py_alive=yes
kill -0 "$server_pid" 2>/dev/null || py_alive="no (it died: see $W/pyftpdlib.log)"
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=
fd_peak=$(cat "$W/fd-peak")
kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=

[ -s "$W/out/summary.json" ] || die "ftpbench wrote no summary (exit $rc): $(tail -20 "$W/out/ftpbench.err")"
S=$W/out/summary.json
cycles=$(jq '.all.cycles' "$S")
ok=$(jq '.all.ok' "$S")
lines=$(wc -l <"$W/out/records.jsonl")
# The seqs of the records: 0 … cycles−1, each exactly once.
read -r seq_n seq_min seq_max seq_dup < <(jq -r '.seq' "$W/out/records.jsonl" | sort -n |
	awk 'NR == 1 { min = $1 } { if (NR > 1 && $1 == prev) dup++; prev = $1 } END { print NR, min + 0, prev + 0, dup + 0 }')
# Outcomes counted from the records themselves, beside the summary's.
rec_ok=$(jq -r 'select(.outcome == "ok") | 1' "$W/out/records.jsonl" | wc -l)

# --- report ------------------------------------------------------------------------
ms() { calc "$(jq "$1" "$S") / 1e6" "${2:-1}"; }
echo "# ftpbench at scale — $(date -u +%Y-%m-%dT%H:%MZ), $ncpu × $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -r)"
echo "# pyftpdlib $pyver ($("$py" --version 2>&1)), $(go version | cut -d' ' -f3); load average at start: $load_at_start; sockets in TIME_WAIT at start: $tw_at_start"
echo
echo "## $USERS users, PASV 1 KiB RETR, pyftpdlib on loopback (stages $stages, think $THINK, timeout $TIMEOUT, passive ports ${PASV_PORTS:-from the kernel})"
printf '%-44s %12s\n' "ftpbench exit status" "$rc"
printf '%-44s %12s\n' "cycles (summary)" "$cycles"
printf '%-44s %12s\n' "records in the results file" "$lines"
printf '%-44s %12s\n' "distinct seqs, from … to" "$((seq_n - seq_dup)), $seq_min … $seq_max"
printf '%-44s %12s\n' "ok cycles (summary / records)" "$ok / $rec_ok"
jq -r '.all.outcomes | to_entries[] | select(.key != "ok" and .value > 0) | "\(.key) \(.value)"' "$S" |
	while read -r k v; do printf '%-44s %12s\n' "failed: $k" "$v"; done
printf '%-44s %12s\n' "failed cycles, all outcomes" "$((cycles - ok))"
printf '%-44s %12s\n' "ok cycles/s (over the run's window)" "$(calc "$ok / ($(jq '.all.window_ns' "$S") / 1e9)" 0)"
printf '%-44s %12s\n' "set-up p50 / p99, ms" "$(ms '.all.setup_ns.p50') / $(ms '.all.setup_ns.p99')"
printf '%-44s %12s\n' "cycle p50 / p99, ms" "$(ms '.all.cycle_ns.p50') / $(ms '.all.cycle_ns.p99')"
printf '%-44s %12s\n' "pyftpdlib peak descriptors (1 s samples)" "$fd_peak"
printf '%-44s %12s\n' "pyftpdlib still running at the end" "$py_alive"
printf '%-44s %12s\n' "ftpbench wall s, CPU s (user+sys), cores" "$fb_wall, $(calc "$fb_usr + $fb_sys" 1), $(calc "($fb_usr + $fb_sys) / $fb_wall" 1)"
echo
printf '%-44s %12s %10s\n' "memory" "total MiB" "KiB/user"
printf '%-44s %12s %10s\n' "ftpbench max RSS" "$(calc "$fb_rss_kib / 1024" 0)" "$(calc "$fb_rss_kib / $USERS" 1)"
printf '%-44s %12s %10s\n' "pyftpdlib peak RSS (VmHWM)" "$(calc "$py_hwm_kib / 1024" 0)" "$(calc "$py_hwm_kib / $USERS" 1)"
echo
all_recorded=$([ "$rc" -eq 0 ] && [ "$cycles" -gt 0 ] && [ "$lines" -eq "$cycles" ] && [ "$seq_n" -eq "$cycles" ] &&
	[ "$seq_dup" -eq 0 ] && [ "$seq_min" -eq 0 ] && [ "$seq_max" -eq $((cycles - 1)) ] && [ "$rec_ok" -eq "$ok" ] && echo 1 || echo 0)
printf '%-44s %12s  %s\n' "every cycle recorded (records = cycles)" "$lines = $cycles" "$(verdict "$all_recorded == 1")"
printf '%-44s %12s  %s\n' "every cycle ok" "$ok of $cycles" "$(verdict "$ok == $cycles")"
if [ "$rc" -ne 0 ]; then
	echo "ftpbench exited with $rc; the end of its stderr:"
	tail -5 "$W/out/ftpbench.err"
fi
if [ -s "$W/pyftpdlib.log" ] && [ "$(wc -l <"$W/pyftpdlib.log")" -gt 1 ]; then
	echo "pyftpdlib logged $(($(wc -l <"$W/pyftpdlib.log") - 1)) warning lines; the first:"
	sed -n 2,4p "$W/pyftpdlib.log"
fi
echo
echo "(run took $((SECONDS - started)) s; work files in $W$([ -z "$keep" ] && echo ', removed'))"
