package main

import (
	"fmt"

	"ftpbench/loadgen"
)

// fileLimit is the process's RLIMIT_NOFILE: how many file descriptors it
// may hold (soft, enforced) and how far an unprivileged process may raise
// the soft limit (hard).
type fileLimit struct {
	soft, hard uint64
}

// fdSlack covers the descriptors a run holds whatever its size: stdio,
// the results file and its metadata, the network poller, the runtime's
// pipes, a resolver socket, and a few connections being closed while
// their user-PI already reconnects.
const fdSlack = 64

// fdsPerUser is the most descriptors one user-PI holds at once over real
// TCP: its control connection and a data connection; in active modes
// (PORT, EPRT, and any mode that is not passive) also the user-DTP's
// listener, which is open while the server-DTP connects and until the
// accepted connection is handed over. Counting the worst case makes the
// check refuse a run that could fail mid-way with EMFILE, which would
// show up as failed cycles that are the load generator's fault, not the
// server's.
func fdsPerUser(modes []loadgen.Mode) uint64 {
	for _, m := range modes {
		if !m.Passive() {
			return 3
		}
	}
	return 2
}

// fdsNeeded estimates the descriptors a run of users user-PIs cycling
// through modes holds at its peak.
func fdsNeeded(users int, modes []loadgen.Mode) uint64 {
	return uint64(users)*fdsPerUser(modes) + fdSlack
}

// checkFileLimit returns an error that names the limit and the ways out
// when users user-PIs in modes need more descriptors than lim.soft allows,
// so that a run too large for one process stops before it starts instead
// of failing cycles with "too many open files".
func checkFileLimit(users int, modes []loadgen.Mode, lim fileLimit) error {
	need := fdsNeeded(users, modes)
	if need <= lim.soft {
		return nil
	}
	per := fdsPerUser(modes)
	most := uint64(0)
	if lim.soft > fdSlack {
		most = (lim.soft - fdSlack) / per
	}
	procs := (need + lim.soft - 1) / max(lim.soft, 1)
	return fmt.Errorf("%d users need about %d file descriptors (%d per user: control, data%s; plus %d), "+
		"but this process may open %d (RLIMIT_NOFILE soft limit; hard limit %s): "+
		"run at most %d users per process (-c %d), or split the run over %d or more processes with --segment i/N, "+
		"or raise the hard limit (ulimit -Hn, limits.conf, or the container's nofile setting)",
		users, need, per, listenerNote(per), fdSlack, lim.soft, limitString(lim.hard), most, most, procs)
}

func listenerNote(per uint64) string {
	if per > 2 {
		return ", listener of the active modes"
	}
	return ""
}

// limitString prints a limit, or "unlimited" for RLIM_INFINITY (all ones
// on Linux, 2⁶³−1 on the BSDs and macOS).
func limitString(v uint64) string {
	if v >= 1<<62 {
		return "unlimited"
	}
	return fmt.Sprint(v)
}
