package loadgen_test

import (
	"syscall"
	"testing"
	"time"

	"ftpbench/internal/ftptest"
	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// BenchmarkSimCycles measures full transfer cycles per second against the
// simulated server on the in-memory network, in real time: the ceiling of
// `ftpbench run` with no URL on this machine, and the cost per cycle of
// user-PI, server and network together.
func BenchmarkSimCycles(b *testing.B) {
	for _, mode := range []loadgen.Mode{loadgen.ModePASV, loadgen.ModePORT} {
		b.Run(string(mode), func(b *testing.B) {
			tb, err := sim.StartTestbed(sim.TestbedConfig{Server: sim.ServerConfig{Anonymous: true}})
			if err != nil {
				b.Fatal(err)
			}
			defer tb.Close()
			benchCycles(b, loadgen.Config{Network: tb.Client, Modes: []loadgen.Mode{mode},
				Target: loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/size/1024"}})
		})
	}
}

// BenchmarkTCPCycles runs 1 KiB RETR cycles over real TCP against vsftpd
// on loopback (skipped where vsftpd is not installed). The server is
// another process, so allocs/op and CPU are the client's alone: loadgen's
// and the net package's for one dial (PASV) or listen and accept (PORT)
// per cycle.
func BenchmarkTCPCycles(b *testing.B) {
	srv := ftptest.StartVsftpd(b, ftptest.Options{Files: map[string]int64{"1k.bin": 1024}})
	for _, mode := range []loadgen.Mode{loadgen.ModePASV, loadgen.ModePORT} {
		b.Run(string(mode), func(b *testing.B) {
			benchCycles(b, loadgen.Config{Network: loadgen.TCP{}, Modes: []loadgen.Mode{mode},
				Target: loadgen.Target{Addr: srv.Addr, User: srv.User, Password: srv.Password, Path: "/1k.bin"}})
		})
	}
}

// benchCycles runs b.N cycles of cfg with 8 users, fails on any cycle
// that is not ok, and reports cycles/s and the process's CPU µs per
// cycle: CPU time is steadier than wall time on a shared machine.
func benchCycles(b *testing.B, cfg loadgen.Config) {
	cfg.Users, cfg.Cycles, cfg.Timeout = 8, int64(b.N), 10*time.Second
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	ch, err := loadgen.Run(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for r := range ch {
		if r.Outcome != results.OK {
			b.Fatalf("seq %d: %s %s", r.Seq, r.Outcome, r.Err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "cycles/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "CPU-µs/cycle")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
