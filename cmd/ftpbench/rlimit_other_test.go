//go:build !unix

package main

import "testing"

// lowerSoftLimit skips: there is no RLIMIT_NOFILE to lower.
func lowerSoftLimit(t *testing.T, _ uint64) {
	t.Skip("no RLIMIT_NOFILE on this system")
}
