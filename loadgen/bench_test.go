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
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			ch, err := loadgen.Run(b.Context(), loadgen.Config{
				Network: tb.Client, Target: loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "x", Path: "/size/1024"},
				Modes: []loadgen.Mode{mode}, Users: 8, Cycles: int64(b.N), Timeout: 10 * time.Second,
			})
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
			// CPU time is steadier than wall time on a shared machine.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "CPU-µs/cycle")
		})
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTCPCycles runs 1 KiB RETR cycles over real TCP against vsftpd
// on loopback (skipped where vsftpd is not installed). The server is
// another process, so allocs/op are the client's alone: loadgen's and the
// net package's for one dial (PASV) or listen and accept (PORT) per cycle.
func BenchmarkTCPCycles(b *testing.B) {
	srv := ftptest.StartVsftpd(b, ftptest.Options{Files: map[string]int64{"1k.bin": 1024}})
	for _, mode := range []loadgen.Mode{loadgen.ModePASV, loadgen.ModePORT} {
		b.Run(string(mode), func(b *testing.B) {
			b.ReportAllocs()
			start, cpu0 := time.Now(), cpuTime()
			ch, err := loadgen.Run(b.Context(), loadgen.Config{
				Network: loadgen.TCP{}, Target: loadgen.Target{Addr: srv.Addr, User: srv.User, Password: srv.Password, Path: "/1k.bin"},
				Modes: []loadgen.Mode{mode}, Users: 8, Cycles: int64(b.N), Timeout: 10 * time.Second,
			})
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
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "client-CPU-µs/cycle")
		})
	}
}
