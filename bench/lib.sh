# shellcheck shell=bash
# bench/lib.sh — what bench/peers.sh and bench/scale.sh share. Sourced,
# not run: the script sets NAME (its name, for messages) first.

say() { printf '%s\n' "$*" >&2; }
die() {
	say "$NAME: $*"
	exit 1
}

# calc EXPR [DECIMALS]: floating-point arithmetic (awk), 2 decimals unless told.
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }

# verdict COND: "met" when the awk condition holds, else "MISSED".
verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo MISSED; fi; }

# install_missing PKG...: installs the Debian packages with apt-get when
# run as root, or stops naming them. A package that would start a service
# (vsftpd on :21) is kept from doing so with a policy-rc.d.
install_missing() {
	[ $# -gt 0 ] || return 0
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
		die "missing: $*; install them (Debian: apt-get install $*) and run again"
	fi
	say "$NAME: installing $* with apt-get"
	local policy=/usr/sbin/policy-rc.d own_policy='' installed=''
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
	fi
	if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 ||
		{ apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2; }; then
		installed=1
	fi
	if [ -n "$own_policy" ]; then rm -f "$policy"; fi
	[ -n "$installed" ] || die "apt-get could not install $*"
}

# make_workdir PREFIX [DIR]: sets W to DIR (kept afterwards) or to a new
# temporary directory /tmp/PREFIX.XXXXXX (removed by the caller's cleanup
# unless KEEP is set), and keep accordingly.
# shellcheck disable=SC2034 # W and keep are for the caller
make_workdir() {
	keep=${KEEP:-}
	if [ $# -ge 2 ]; then
		W=$2
		keep=1
		mkdir -p "$W"
	else
		W=$(mktemp -d "/tmp/$1.XXXXXX")
	fi
	W=$(cd "$W" && pwd)
}
