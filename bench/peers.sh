#!/usr/bin/env bash
# bench/peers.sh — ftpbench side by side with peer FTP clients, and the
# limits of its simulation, in one run of a few minutes on loopback.
#
#   bash bench/peers.sh [WORKDIR]
#
# What it measures (issue 7), each figure printed beside its goal:
#   1. 1 KiB RETR, PASV and PORT, USERS concurrent users against one vsftpd
#      (ftpbench also as "ftpbench16": --source-addrs over 16 loopback addresses):
#      cycles/s, and client CPU seconds per 1,000 cycles (user+sys of the
#      client processes only, from /usr/bin/time) for ftpbench, curl (one
#      process per user reusing its control connection over CYCLES_PER_USER
#      URLs) and lftp (one process per user running a script of `get`s);
#      the server's CPU (vsftpd's reaped sessions) for scale.
#   2. 256 MiB RETR: ftpbench MB/s vs curl MB/s vs a raw loopback TCP copy
#      of the same file (bench/rawtcp: sendfile in, plain read loop out) with
#      32 KiB, 128 KiB and 1 MiB reads (ftpbench reads 1 MiB at a time for
#      files of 8 MiB and more).
#   3. The simulation (no server process): PASV cycles/s at 1, 100 and
#      10,000 users in real time and in virtual time, and the memory of one
#      idle simulated user at SIM_MEM_USERS users (bench/simmem).
# The machine may be shared, so compare the ratios, not the absolute times.
#
# Needs Go (to build ftpbench and the helpers) and the Debian packages
# vsftpd, curl, lftp, time and jq; as root, missing ones are installed with
# apt-get (and it says so); nothing else is fetched. vsftpd runs on
# 127.0.0.1 on a free port with its own configuration in WORKDIR (default:
# a temporary directory, removed at the end) and is stopped by its PID.
# Run as root it runs as Debian's does (privilege separation, chroot);
# otherwise with run_as_launching_user=YES.
#
# Environment (defaults): USERS (50), CYCLES_PER_USER (80), ROUNDS (2: the
# clients take turns, CYCLES_PER_USER/ROUNDS cycles at a time), BIG_RUNS (5),
# SIM_SECONDS (3), SIM_VIRTUAL_CYCLES (30000), SIM_MEM_USERS (100000; it
# needs about 60 KiB each, so 6 GB at the default), KEEP (set: keep the
# temporary WORKDIR; a WORKDIR given as argument is always kept).
set -euo pipefail

USERS=${USERS:-50}
CYCLES_PER_USER=${CYCLES_PER_USER:-80}
ROUNDS=${ROUNDS:-2}
BIG_RUNS=${BIG_RUNS:-5}
SIM_SECONDS=${SIM_SECONDS:-3}
SIM_VIRTUAL_CYCLES=${SIM_VIRTUAL_CYCLES:-30000}
SIM_MEM_USERS=${SIM_MEM_USERS:-100000}
PER_ROUND=$((CYCLES_PER_USER / ROUNDS))
ROUND_CYCLES=$((USERS * PER_ROUND))

repo=$(cd "$(dirname "$0")/.." && pwd)
started=$SECONDS

NAME=peers.sh
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

# --- dependencies -------------------------------------------------------
need_pkgs=()
command -v /usr/sbin/vsftpd >/dev/null || need_pkgs+=(vsftpd)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v lftp >/dev/null || need_pkgs+=(lftp)
[ -x /usr/bin/time ] || need_pkgs+=(time)
command -v jq >/dev/null || need_pkgs+=(jq)
install_missing "${need_pkgs[@]}"
command -v go >/dev/null || die "Go is needed to build ftpbench (https://go.dev/dl/)"

# --- work directory, files, binaries -------------------------------------
make_workdir ftpbench-peers "$@"
vsftpd_pid=
cleanup() {
	if [ -n "$vsftpd_pid" ]; then kill "$vsftpd_pid" 2>/dev/null || true; fi
	if [ -z "$keep" ]; then rm -rf "$W"; fi
}
trap cleanup EXIT

chmod 711 "$W"
mkdir -p "$W/root" "$W/etc/empty" "$W/out"
chmod 755 "$W/root" "$W/etc" "$W/etc/empty"
head -c 1024 /dev/urandom >"$W/root/1KiB.bin"
[ -s "$W/root/256MiB.bin" ] || head -c $((256 << 20)) /dev/urandom >"$W/root/256MiB.bin"
chmod 644 "$W/root/"*.bin

say "peers.sh: building ftpbench and the helpers into $W"
(cd "$repo" && go build -o "$W/ftpbench" ./cmd/ftpbench && go build -o "$W/rawtcp" ./bench/rawtcp &&
	go build -o "$W/simmem" ./bench/simmem)

# --- vsftpd ---------------------------------------------------------------
# As internal/ftptest/vsftpd.go configures it, without uploads, and with no
# cap on sessions. Passive ports stay below the kernel's ephemeral range.
start_vsftpd() {
	local port=$1 launching=NO user_line="ftp_username=ftp"
	if [ "$(id -u)" -ne 0 ]; then launching=YES user_line=; fi
	cat >"$W/etc/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$port
background=NO
run_as_launching_user=$launching
$user_line
local_enable=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$W/root
write_enable=NO
pasv_enable=YES
pasv_min_port=10000
pasv_max_port=30000
pasv_promiscuous=NO
port_enable=YES
port_promiscuous=NO
connect_from_port_20=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir=$W/etc/empty
max_clients=0
max_per_ip=0
xferlog_enable=NO
dirmessage_enable=NO
session_support=NO
tcp_wrappers=NO
use_sendfile=YES
idle_session_timeout=300
data_connection_timeout=300
accept_timeout=60
connect_timeout=60
EOF
	/usr/sbin/vsftpd "$W/etc/vsftpd.conf" >"$W/etc/vsftpd.log" 2>&1 &
	vsftpd_pid=$!
	for _ in $(seq 50); do
		if ! kill -0 "$vsftpd_pid" 2>/dev/null; then
			vsftpd_pid=
			return 1 # port taken: vsftpd says "could not bind"
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}
port=
for _ in $(seq 20); do
	candidate=$((2100 + (RANDOM % 800)))
	if start_vsftpd "$candidate"; then
		port=$candidate
		break
	fi
done
[ -n "$port" ] || die "vsftpd did not start: $(cat "$W/etc/vsftpd.log")"
url="ftp://anonymous:peers@127.0.0.1:$port"

# --- measuring helpers -------------------------------------------------------
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
tw_at_start=$(awk '$4 == "06"' /proc/net/tcp /proc/net/tcp6 2>/dev/null | wc -l)
clk_tck=$(getconf CLK_TCK)
ncpu=$(nproc)

# calc EXPR [DECIMALS]: floating-point arithmetic.

# server_cpu: CPU seconds of vsftpd and every session it has reaped.
server_cpu() {
	local f
	read -r -a f <"/proc/$vsftpd_pid/stat"
	calc "(${f[13]} + ${f[14]} + ${f[15]} + ${f[16]}) / $clk_tck" 3
}

# wait_sessions: until vsftpd has reaped every session, so their CPU counts.
wait_sessions() {
	local f ppid busy
	for _ in $(seq 100); do
		busy=0
		for f in /proc/[0-9]*/stat; do
			read -r _ _ _ ppid _ 2>/dev/null <"$f" || continue
			if [ "$ppid" = "$vsftpd_pid" ]; then busy=1 && break; fi
		done
		[ $busy -eq 0 ] && return 0
		sleep 0.1
	done
}

# timed CMD...: runs CMD under /usr/bin/time and sets WALL, CPU (user+sys
# of CMD and its children) and SRV (vsftpd's CPU meanwhile). Exit status
# in RC.
timed() {
	local before after usr sys
	wait_sessions
	before=$(server_cpu)
	RC=0
	/usr/bin/time -f '%e %U %S' -o "$W/time" "$@" || RC=$?
	wait_sessions
	after=$(server_cpu)
	read -r WALL usr sys <"$W/time"
	CPU=$(calc "$usr + $sys" 3)
	SRV=$(calc "$after - $before" 3)
}

# Client scripts: one process per user, each over one control connection,
# for one round of PER_ROUND cycles.
for _ in $(seq "$PER_ROUND"); do printf 'url = "%s/1KiB.bin"\noutput = "/dev/null"\n' "$url"; done >"$W/curl.cfg"
for mode in pasv port; do
	{
		printf 'set cmd:fail-exit yes\nset cmd:interactive no\nset net:max-retries 1\nset ftp:ssl-allow no\nset xfer:clobber yes\n'
		if [ $mode = pasv ]; then
			printf 'set ftp:passive-mode yes\nset ftp:prefer-epsv no\n'
		else
			printf 'set ftp:passive-mode no\nset ftp:port-ipv4 127.0.0.1\n'
		fi
		printf 'open %s\n' "$url"
		for _ in $(seq "$PER_ROUND"); do echo "get 1KiB.bin -o /dev/null"; done
	} >"$W/lftp-$mode.scr"
done
cat >"$W/many.sh" <<'EOF'
# many.sh N OUTPREFIX CMD...: runs N copies of CMD at once, the output of
# copy i in OUTPREFIX.i; exits with the number of copies that failed.
n=$1 out=$2; shift 2
pids=()
for i in $(seq "$n"); do "$@" >"$out.$i" 2>&1 & pids+=($!); done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
exit $failed
EOF

# --- 1. 1 KiB RETR, USERS users ------------------------------------------------
# Totals per client.mode over the rounds: ok cycles, wall, client CPU and
# server CPU seconds.
declare -A okc wall cpu srv
run_small() { # client mode round
	local client=$1 mode=$2 round=$3 ok out="$W/out/$1-$2-$3"
	case $client in
	ftpbench | ftpbench16)
		local spread=()
		[ "$client" = ftpbench16 ] && spread=(--source-addrs 127.0.0.1-127.0.0.16)
		timed "$W/ftpbench" run -m "$mode" -c "$USERS" -n "$ROUND_CYCLES" --timeout 30s "${spread[@]}" \
			-o "$out.jsonl" --format json "$url/1KiB.bin" >"$out.json" 2>/dev/null
		ok=$(jq '.all.ok' "$out.json")
		;;
	curl)
		local flags=(--disable-epsv)
		[ "$mode" = port ] && flags=(-P 127.0.0.1 --disable-eprt)
		timed bash "$W/many.sh" "$USERS" "$out" curl -s "${flags[@]}" -K "$W/curl.cfg" -w '%{size_download}\n'
		ok=$(cat "$out".* | grep -cx 1024 || true)
		;;
	lftp)
		timed bash "$W/many.sh" "$USERS" "$out" lftp -f "$W/lftp-$mode.scr"
		ok=$(((USERS - RC) * PER_ROUND)) # a failed lftp counts as none done
		;;
	esac
	[ "$ok" -eq "$ROUND_CYCLES" ] || say "peers.sh: $client $mode: only $ok of $ROUND_CYCLES transfers succeeded (see $out*)"
	local k=$client.$mode
	okc[$k]=$((${okc[$k]:-0} + ok))
	wall[$k]=$(calc "${wall[$k]:-0} + $WALL" 3)
	cpu[$k]=$(calc "${cpu[$k]:-0} + $CPU" 3)
	srv[$k]=$(calc "${srv[$k]:-0} + $SRV" 3)
}
say "peers.sh: 1 KiB RETR, $USERS users × $((PER_ROUND * ROUNDS)) cycles in $ROUNDS turns, against vsftpd on 127.0.0.1:$port"
# Each data connection leaves a socket in TIME_WAIT for 60 s; in active
# mode vsftpd's end holds an ephemeral port, and the more are held, the
# more every later listen(port 0) and connect() costs in the kernel (here
# 2 ms of CPU per cycle at 17,000). So the clients take turns, in an order
# reversed every round: each sees the same mix of early and late.
# ftpbench16 is ftpbench with its users spread over 16 loopback addresses
# (--source-addrs), which spreads those TIME_WAIT sockets too.
order=(curl lftp ftpbench ftpbench16)
for mode in pasv port; do
	for round in $(seq "$ROUNDS"); do
		for client in "${order[@]}"; do run_small "$client" "$mode" "$round"; done
		order=("${order[3]}" "${order[2]}" "${order[1]}" "${order[0]}")
	done
done
declare -A rate cpu1k srv1k share
for k in "${!okc[@]}"; do
	rate[$k]=$(calc "${okc[$k]} / ${wall[$k]}" 0)
	cpu1k[$k]=$(calc "1000 * ${cpu[$k]} / ${okc[$k]}" 3)
	srv1k[$k]=$(calc "1000 * ${srv[$k]} / ${okc[$k]}" 3)
	share[$k]=$(calc "100 * ${cpu[$k]} / (${wall[$k]} * $ncpu)" 0)
done

# --- 2. 256 MiB RETR --------------------------------------------------------------
say "peers.sh: 256 MiB RETR, best of $BIG_RUNS"
"$W/ftpbench" run -m pasv -c 1 -n "$BIG_RUNS" --timeout 60s -o "$W/out/big.jsonl" --format json \
	"$url/256MiB.bin" >/dev/null 2>&1 || true
big_fb=$(jq -s '[.[] | select(.outcome == "ok") | .bytes * 1000 / .t.done] | max // 0' "$W/out/big.jsonl")
big_curl=0
for _ in $(seq "$BIG_RUNS"); do
	s=$(curl -s --disable-epsv -o /dev/null -w '%{speed_download}' "$url/256MiB.bin" || echo 0)
	big_curl=$(calc "($s / 1e6 > $big_curl) ? $s / 1e6 : $big_curl" 1)
done
big_raw=$("$W/rawtcp" -file "$W/root/256MiB.bin" -n "$BIG_RUNS" -buf $((128 << 10)) | awk '{print $NF}')
big_raw32=$("$W/rawtcp" -file "$W/root/256MiB.bin" -n "$BIG_RUNS" -buf $((32 << 10)) | awk '{print $NF}')
big_raw1m=$("$W/rawtcp" -file "$W/root/256MiB.bin" -n "$BIG_RUNS" -buf $((1 << 20)) | awk '{print $NF}')
if kill "$vsftpd_pid"; then wait "$vsftpd_pid" 2>/dev/null || true; fi
vsftpd_pid=

# --- 3. the simulation ---------------------------------------------------------------
say "peers.sh: simulation, PASV 1 KiB, 1/100/10000 users, ${SIM_SECONDS}s real time and $SIM_VIRTUAL_CYCLES cycles virtual"
declare -A simrt simerr simcores simcpu simvt simvterr
for u in 1 100 10000; do
	/usr/bin/time -f '%e %U %S' -o "$W/time" "$W/ftpbench" run -m pasv --size 1KiB -c $u -d "${SIM_SECONDS}s" \
		-o "$W/out/sim-$u.jsonl" --format json >"$W/out/sim-$u.json" 2>/dev/null || true
	read -r wall usr sys <"$W/time"
	simrt[$u]=$(jq '.all.ok / (.all.window_ns / 1e9) | floor' "$W/out/sim-$u.json")
	simerr[$u]=$(jq '.all.cycles - .all.ok' "$W/out/sim-$u.json")
	simcores[$u]=$(calc "($usr + $sys) / $wall" 1)
	simcpu[$u]=$(calc "$(jq '.all.ok' "$W/out/sim-$u.json") / ($usr + $sys)" 0)
	/usr/bin/time -f '%e %U %S' -o "$W/time" "$W/ftpbench" run --virtual -m pasv --size 1KiB -c $u \
		-n "$SIM_VIRTUAL_CYCLES" -o "$W/out/simv-$u.jsonl" --format json >"$W/out/simv-$u.json" 2>/dev/null || true
	read -r wall usr sys <"$W/time"
	simvt[$u]=$(calc "$(jq '.all.ok' "$W/out/simv-$u.json") / $wall" 0)
	simvterr[$u]=$(jq '.all.cycles - .all.ok' "$W/out/simv-$u.json")
done
say "peers.sh: simulation, memory of $SIM_MEM_USERS idle users"
simmem=$("$W/simmem" -users "$SIM_MEM_USERS" 2>&1 || true)
mem_per_user=$(sed -n 's/.*heap+stack\/user \([0-9]*\) B.*/\1/p' <<<"$simmem")

# --- report ------------------------------------------------------------------------
echo "# ftpbench vs peers — $(date -u +%Y-%m-%dT%H:%MZ), $ncpu × $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -r)"
echo "# vsftpd $(grep -a -o -m1 'vsftpd: version [0-9.]*[0-9]' /usr/sbin/vsftpd | head -1 | cut -d' ' -f3), $(curl --version | head -1 | cut -d' ' -f1-2), $(lftp --version | head -1 | sed 's/.*Version \([0-9.]*\).*/lftp \1/'), $(go version | cut -d' ' -f3)"
echo "# load average at start: $load_at_start; sockets in TIME_WAIT at start: $tw_at_start (a shared machine: read the ratios)"
echo
echo "## 1. 1 KiB RETR, $USERS users × $((PER_ROUND * ROUNDS)) cycles in $ROUNDS turns, vsftpd on loopback"
printf '%-5s %-10s %6s %10s %16s %16s %14s\n' mode client ok cycles/s "client CPU s/1k" "vsftpd CPU s/1k" "client % of CPU"
for mode in pasv port; do
	for client in ftpbench ftpbench16 curl lftp; do
		k=$client.$mode
		printf '%-5s %-10s %6s %10s %16s %16s %14s\n' "$mode" "$client" "${okc[$k]}" "${rate[$k]}" "${cpu1k[$k]}" "${srv1k[$k]}" "${share[$k]}%"
	done
done
echo
printf '%-5s %-34s %8s %8s  %s\n' mode ratio value goal verdict
for mode in pasv port; do
	r=$(calc "${cpu1k[ftpbench.$mode]} / ${cpu1k[curl.$mode]}")
	printf '%-5s %-34s %8s %8s  %s\n' "$mode" "CPU/cycle ftpbench ÷ curl" "$r" "≤ 0.5" "$(verdict "$r <= 0.5")"
	r=$(calc "${cpu1k[ftpbench16.$mode]} / ${cpu1k[curl.$mode]}")
	printf '%-5s %-34s %8s %8s  %s\n' "$mode" "… with --source-addrs (16) ÷ curl" "$r" "≤ 0.5" "$(verdict "$r <= 0.5")"
	r=$(calc "${cpu1k[ftpbench.$mode]} / ${cpu1k[lftp.$mode]}")
	printf '%-5s %-34s %8s %8s\n' "$mode" "CPU/cycle ftpbench ÷ lftp" "$r" ""
	printf '%-5s %-34s %8s %8s\n' "$mode" "cycles/s ftpbench ÷ curl" "$(calc "${rate[ftpbench.$mode]} / ${rate[curl.$mode]}")" ""
	printf '%-5s %-34s %8s %8s\n' "$mode" "cycles/s ftpbench ÷ lftp" "$(calc "${rate[ftpbench.$mode]} / ${rate[lftp.$mode]}")" ""
	r=${share[ftpbench.$mode]}
	printf '%-5s %-34s %8s %8s  %s\n' "$mode" "ftpbench % of machine CPU" "$r%" "≤ 20%" "$(verdict "$r <= 20")"
	printf '%-5s %-34s %8s %8s\n' "$mode" "CPU/cycle ftpbench ÷ vsftpd" "$(calc "${cpu1k[ftpbench.$mode]} / ${srv1k[ftpbench.$mode]}")" ""
done
echo
echo "## 2. 256 MiB RETR (PASV), best of $BIG_RUNS, MB/s (10⁶ B/s)"
printf '%-44s %8s\n' "ftpbench (whole cycle: PASV to 226)" "$(calc "$big_fb" 0)"
printf '%-44s %8s\n' "curl (whole transfer)" "$(calc "$big_curl" 0)"
printf '%-44s %8s\n' "raw loopback TCP, 32 KiB reads" "$big_raw32"
printf '%-44s %8s\n' "raw loopback TCP, 128 KiB reads" "$big_raw"
printf '%-44s %8s\n' "raw loopback TCP, 1 MiB reads (ftpbench's)" "$big_raw1m"
r=$(calc "$big_fb / $big_raw1m")
printf '%-44s %8s  goal ≥ 0.9  %s\n' "ratio ftpbench ÷ raw TCP (same 1 MiB reads)" "$r" "$(verdict "$r >= 0.9")"
printf '%-44s %8s\n' "ratio ftpbench ÷ raw TCP (128 KiB)" "$(calc "$big_fb / $big_raw")"
printf '%-44s %8s\n' "ratio ftpbench ÷ curl" "$(calc "$big_fb / $big_curl")"
printf '%-44s %8s\n' "ratio curl ÷ raw TCP (128 KiB)" "$(calc "$big_curl / $big_raw")"
echo
echo "## 3. Simulation (in-process server and network), PASV 1 KiB RETR"
echo "(real time: ok cycles/s over the run's window, cores busy, ok cycles per CPU-second; virtual: ok cycles per wall second, one core)"
printf '%-7s %14s %8s %6s %14s %18s %8s\n' users "real cycles/s" errors cores "cycles/CPU-s" "virtual cycles/s" errors
for u in 1 100 10000; do
	printf '%-7s %14s %8s %6s %14s %18s %8s\n' "$u" "${simrt[$u]}" "${simerr[$u]}" "${simcores[$u]}" "${simcpu[$u]}" "${simvt[$u]}" "${simvterr[$u]}"
done
best=$(printf '%s\n' "${simrt[@]}" | sort -n | tail -1)
r=$(calc "$best / 100000")
printf 'best real-time rate ÷ goal of 100,000 cycles/s on 2 cores: %s (%s cores here, shared)  %s\n' "$r" "$ncpu" "$(verdict "$r >= 1")"
best=$(printf '%s\n' "${simcpu[@]}" | sort -n | tail -1)
r=$(calc "2 * $best / 100000")
printf 'projected on 2 idle cores (2 × best cycles/CPU-s) ÷ goal: %s  %s\n' "$r" "$(verdict "$r >= 1")"
echo "memory, $SIM_MEM_USERS idle users (VirtualClock, one 1 KiB PASV cycle each, then thinking): $simmem"
if [ -n "$mem_per_user" ]; then
	r=$(calc "$mem_per_user / 20480")
	printf 'bytes per idle user ÷ goal of 20 KiB: %s  %s\n' "$r" "$(verdict "$r <= 1")"
fi
echo
echo "(run took $((SECONDS - started)) s; work files in $W$([ -z "$keep" ] && echo ', removed'))"
