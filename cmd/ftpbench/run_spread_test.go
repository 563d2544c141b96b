package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunSimulationSpreadsUsers: `ftpbench run` in the simulation puts at
// most sim.Testbed.UsersPerClientAddr() users — half a host's ephemeral ports — on one
// simulated client address. With hosts shrunk here to 100 ports, 300
// users in default data port mode (one control connection each, and no
// other client port: the user-DTP listens on the control port, the
// server connects from port 20) are spread over six addresses. Spread
// automatically, or over the four given with --source-addrs, every cycle
// is ok and recorded; all on one address, the users beyond its ports end
// addr-unavailable.
func TestRunSimulationSpreadsUsers(t *testing.T) {
	defer func(ports [2]int) { simEphemeralPorts = ports }(simEphemeralPorts)
	simEphemeralPorts = [2]int{40000, 40099}
	for _, tc := range []struct {
		name      string
		extra     []string
		allOK     bool
		stderrHas string
	}{
		{"auto", nil, true, "users spread over 6 simulated client addresses"},
		{"given", []string{"--source-addrs", "127.0.1.1-127.0.1.4"}, true, ""},
		{"one-address", []string{"--source-addrs", "127.0.0.1"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.jsonl")
			args := append([]string{"run", "--virtual", "-c", "300", "-n", "900", "--mode", "default", "--size", "1KiB",
				"--progress-interval", "0", "--format", "json", "-o", out}, tc.extra...)
			code, stdout, stderr := ftpbench(t, t.Context(), args...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			if !strings.Contains(stderr, tc.stderrHas) {
				t.Errorf("stderr %q does not say %q", stderr, tc.stderrHas)
			}
			var sum summaryJSON
			if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
				t.Fatalf("summary: %v\n%s", err, stdout)
			}
			if n := countLines(t, out); sum.All.Cycles != 900 || n != 900 {
				t.Fatalf("summary %d cycles, %s %d lines; want 900 each", sum.All.Cycles, out, n)
			}
			if len(sum.Modes) != 1 {
				t.Fatalf("modes %+v", sum.Modes)
			}
			outcomes := sum.Modes[0].Outcomes
			if _, ok := outcomes["addr-unavailable"]; !ok {
				t.Errorf("summary outcomes %v lack addr-unavailable", outcomes)
			}
			if tc.allOK {
				if sum.All.OK != 900 || sum.All.Bytes != 900*1024 {
					t.Fatalf("summary %+v outcomes %v: want 900 ok cycles of 1 KiB", sum.All, outcomes)
				}
				return
			}
			if outcomes["addr-unavailable"] == 0 || sum.All.OK == 0 || outcomes["addr-unavailable"]+sum.All.OK != 900 {
				t.Fatalf("outcomes %v: want ok and addr-unavailable only, both present", outcomes)
			}
		})
	}
}
