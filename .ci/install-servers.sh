#!/usr/bin/env bash
# Installs the real FTP servers and clients that ftpbench's tests run against
# (see internal/ftptest and shared REAL-SERVERS notes). Debian 12, as root.
#
#   bash .ci/install-servers.sh
#
# Idempotent: when everything is already there it only runs a few dpkg/stat
# checks (well under a second) and touches no network.
#
# What ends up where:
#   - vsftpd, lftp, curl, python3-pyftpdlib, openssl and proftpd's shared
#     libraries: apt-get install (normal dpkg packages, /usr/sbin/vsftpd,
#     /usr/bin/lftp, /usr/bin/curl, /usr/bin/python3 -m pyftpdlib).
#   - pure-ftpd and proftpd conflict with vsftpd in dpkg ("Conflicts:
#     ftp-server"), so their .debs are fetched with `apt-get download` and
#     unpacked with `dpkg-deb -x` into $FTPBENCH_SERVERS_DIR (default
#     /opt/ftpbench-servers):
#       $FTPBENCH_SERVERS_DIR/pure-ftpd/usr/sbin/pure-ftpd
#       $FTPBENCH_SERVERS_DIR/pure-ftpd/usr/bin/pure-pw
#       $FTPBENCH_SERVERS_DIR/proftpd/usr/sbin/proftpd
#     internal/ftptest looks there (and honours FTPBENCH_SERVERS_DIR,
#     FTPBENCH_PUREFTPD, FTPBENCH_PUREPW, FTPBENCH_PROFTPD overrides).
#
# No server is left running: services are kept from starting during apt-get
# install by a temporary /usr/sbin/policy-rc.d (exit 101), and any distro
# vsftpd/proftpd/pure-ftpd found listening on port 21 afterwards is stopped.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
SERVERS_DIR="${FTPBENCH_SERVERS_DIR:-/opt/ftpbench-servers}"

APT_PKGS=(
	vsftpd
	python3-pyftpdlib
	lftp
	curl
	openssl
	# headless browser: the HTML report's rendering test
	chromium
	# runtime libraries of the unpacked pure-ftpd / proftpd-core
	libsodium23 libcap2 libssl3 libpam0g libcrypt1
	libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3
	libpcre2-8-0 libacl1 libidn2-0 libncursesw6 libtinfo6 zlib1g
)

log() { printf '[install-servers] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "install-servers.sh must run as root (apt-get install, chown to ftp)" >&2
	exit 1
fi

# --- policy-rc.d: no service may start while we install -------------------
POLICY=/usr/sbin/policy-rc.d
POLICY_BACKUP=""
POLICY_INSTALLED=0
restore_policy() {
	if [ "$POLICY_INSTALLED" = 1 ]; then
		if [ -n "$POLICY_BACKUP" ] && [ -f "$POLICY_BACKUP" ]; then
			mv -f "$POLICY_BACKUP" "$POLICY"
		else
			rm -f "$POLICY"
		fi
		POLICY_INSTALLED=0
	fi
}
block_services() {
	[ "$POLICY_INSTALLED" = 1 ] && return 0
	if [ -e "$POLICY" ]; then
		POLICY_BACKUP="$(mktemp /tmp/policy-rc.d.backup.XXXXXX)"
		cp -p "$POLICY" "$POLICY_BACKUP"
	fi
	printf '#!/bin/sh\n# ftpbench install-servers.sh: keep services from starting\nexit 101\n' >"$POLICY"
	chmod 755 "$POLICY"
	POLICY_INSTALLED=1
}

WORK=""
cleanup() {
	restore_policy
	if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

APT_UPDATED=0
apt_update_once() {
	if [ "$APT_UPDATED" = 0 ]; then
		log "apt-get update"
		apt-get update -qq
		APT_UPDATED=1
	fi
}

is_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

# --- 1. ordinary packages ---------------------------------------------------
missing=()
for p in "${APT_PKGS[@]}"; do
	is_installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	apt_update_once
	block_services
	log "apt-get install ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	restore_policy
else
	log "apt packages already installed"
fi

# --- 2. pure-ftpd and proftpd unpacked into $SERVERS_DIR --------------------
# unpack NAME DEB... : download the .debs and extract them into $SERVERS_DIR/NAME
unpack() {
	local name="$1"
	shift
	local dest="$SERVERS_DIR/$name"
	if [ -z "$WORK" ]; then
		WORK="$(mktemp -d /tmp/ftpbench-debs.XXXXXX)"
		# apt-get download drops privileges to _apt; let it write here.
		chmod 777 "$WORK"
	fi
	apt_update_once
	log "apt-get download $*"
	(cd "$WORK" && apt-get download -qq "$@" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
	local tmp="$dest.new.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	local pkg deb
	for pkg in "$@"; do
		deb="$(ls "$WORK"/"${pkg}"_*.deb 2>/dev/null | head -n 1 || true)"
		if [ -z "$deb" ]; then
			echo "apt-get download $pkg produced no .deb" >&2
			exit 1
		fi
		dpkg-deb -x "$deb" "$tmp"
		dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb" >>"$tmp/.ftpbench-packages"
	done
	rm -rf "$dest"
	mv "$tmp" "$dest"
}

mkdir -p "$SERVERS_DIR"
if [ -x "$SERVERS_DIR/pure-ftpd/usr/sbin/pure-ftpd" ] && [ -x "$SERVERS_DIR/pure-ftpd/usr/bin/pure-pw" ]; then
	log "pure-ftpd already unpacked in $SERVERS_DIR/pure-ftpd"
else
	unpack pure-ftpd pure-ftpd pure-ftpd-common
fi
if [ -x "$SERVERS_DIR/proftpd/usr/sbin/proftpd" ]; then
	log "proftpd already unpacked in $SERVERS_DIR/proftpd"
else
	unpack proftpd proftpd-core
fi

# The unpacked binaries must find all their libraries.
for bin in "$SERVERS_DIR/pure-ftpd/usr/sbin/pure-ftpd" "$SERVERS_DIR/pure-ftpd/usr/bin/pure-pw" "$SERVERS_DIR/proftpd/usr/sbin/proftpd"; do
	if ldd "$bin" 2>/dev/null | grep -q 'not found'; then
		echo "$bin: missing shared libraries:" >&2
		ldd "$bin" | grep 'not found' >&2
		exit 1
	fi
done

# --- 3. no distro FTP daemon may keep port 21 -------------------------------
stop_port21() {
	local pids pid comm
	pids="$(ss -Hltnp 'sport = :21' 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u || true)"
	for pid in $pids; do
		comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
		case "$comm" in
		vsftpd | proftpd | pure-ftpd*)
			log "stopping distro $comm (pid $pid) listening on :21"
			kill "$pid" 2>/dev/null || true
			;;
		esac
	done
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		ss -Hltn 'sport = :21' 2>/dev/null | grep -q . || return 0
		sleep 0.2
	done
	for pid in $pids; do
		comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
		case "$comm" in
		vsftpd | proftpd | pure-ftpd*) kill -9 "$pid" 2>/dev/null || true ;;
		esac
	done
}
stop_port21

# --- 4. report --------------------------------------------------------------
vs="$(dpkg-query -W -f='${Version}' vsftpd)"
py="$(dpkg-query -W -f='${Version}' python3-pyftpdlib)"
log "vsftpd $vs: /usr/sbin/vsftpd"
log "pyftpdlib $py: /usr/bin/python3 -m pyftpdlib"
log "pure-ftpd: $SERVERS_DIR/pure-ftpd/usr/sbin/pure-ftpd ($(paste -sd',' "$SERVERS_DIR/pure-ftpd/.ftpbench-packages" 2>/dev/null || echo '?'))"
log "proftpd: $SERVERS_DIR/proftpd/usr/sbin/proftpd ($(paste -sd',' "$SERVERS_DIR/proftpd/.ftpbench-packages" 2>/dev/null || echo '?'))"
log "clients: $(command -v curl) $(command -v lftp)"
log "done"
