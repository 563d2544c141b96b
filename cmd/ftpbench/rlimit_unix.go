//go:build unix

package main

import "syscall"

// raiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit and
// returns the limits in force afterwards. The Go runtime already does this
// at start-up since Go 1.19, but only silently and only if nothing lowered
// the limit since; doing it here makes the limit the check is made against
// the one the run gets, whatever started the process. A failure to raise
// is not an error: the check then uses the soft limit as it is.
func raiseFileLimit() (fileLimit, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return fileLimit{}, err
	}
	if r.Cur < r.Max {
		raised := syscall.Rlimit{Cur: r.Max, Max: r.Max}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			r = raised
		}
	}
	return fileLimit{soft: uint64(r.Cur), hard: uint64(r.Max)}, nil
}
