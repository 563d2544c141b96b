// Command simmem measures what one idle simulated user costs in memory:
// the figure that decides how many users one process can simulate. It
// starts the simulated server and network on a VirtualClock, logs in
// -users user-PIs that each run one transfer cycle and then think for two
// hours of virtual time, and half-way through — every participant parked,
// exactly one running: the measurement — collects garbage and reads
// runtime.MemStats. The cost per user is the growth of HeapInuse +
// StackInuse over the idle testbed, divided by the users; it includes
// both ends (user-PI and simulated server session) and the connection
// between them, since a simulated user costs all three.
//
// One simulated host can hold at most one connection per ephemeral port
// to the server's port 21, like a real one, so the users are spread over
// -per-host users per client host, one loadgen.Run each, all on the same
// clock and server.
//
//	simmem -users 100000
//	users 100000 ok 100000 heap+stack/user 17257 B (heap 9057, stack 8199) goroutines/user 2.00 wall 124.3s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

func main() {
	users := flag.Int("users", 100000, "simulated users")
	perHost := flag.Int("per-host", 25000, "users per simulated client host (each holds one port per control connection)")
	mode := flag.String("mode", "pasv", "data connection mode of each user's one cycle")
	size := flag.Int64("size", 1024, "bytes of each user's one RETR")
	memProfile := flag.String("memprofile", "", "write a heap profile of the idle users to this file (go tool pprof -sample_index=inuse_space)")
	flag.Parse()
	if *users < 1 || *perHost < 1 || *perHost > 60000 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*users, *perHost, loadgen.Mode(*mode), *size, *memProfile); err != nil {
		fmt.Fprintln(os.Stderr, "simmem:", err)
		os.Exit(1)
	}
}

// memory is the part of runtime.MemStats that grows with simulated users.
type memory struct {
	heap, stack uint64
	goroutines  int
}

func measure() memory {
	// Twice: sync.Pools (the user-DTPs' read buffers) keep what they held
	// through one collection, and pooled buffers belong to transfers in
	// progress, not to idle users.
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memory{heap: m.HeapInuse, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

func run(users, perHost int, mode loadgen.Mode, size int64, memProfile string) error {
	const think = 2 * time.Hour
	vc := sim.NewVirtualClock(1, time.Time{})
	tb, err := sim.StartTestbed(sim.TestbedConfig{
		// Every user connects at virtual time zero: the accept queue and
		// the session cap must hold them all.
		Net:    sim.Config{Clock: vc, EphemeralPorts: [2]int{1024, 65535}, Backlog: users},
		Server: sim.ServerConfig{Anonymous: true, Timeout: 2 * think, MaxSessions: users},
	})
	if err != nil {
		return err
	}
	defer tb.Close()
	start := time.Now()
	base := measure()

	var chans []<-chan results.Record
	for i := 0; i < users; i += perHost {
		n := min(perHost, users-i)
		ch, err := loadgen.Run(context.Background(), loadgen.Config{
			Network: tb.Network.Host(fmt.Sprintf("client%d", i/perHost)),
			Clock:   vc,
			Target:  loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "simmem@", Path: fmt.Sprintf("/size/%d", size)},
			Modes:   []loadgen.Mode{mode},
			Users:   n,
			// One cycle each, then a think longer than the run: the
			// run's end at `think` wakes them to leave.
			Duration: think,
			Think:    2 * think,
		})
		if err != nil {
			return err
		}
		chans = append(chans, ch)
	}
	var idle memory
	var profErr error
	vc.AfterFunc(think/2, func() {
		idle = measure()
		if memProfile != "" {
			profErr = writeHeapProfile(memProfile)
		}
	})
	vc.Start()

	var mu sync.Mutex
	outcomes := map[results.Outcome]int{}
	var wg sync.WaitGroup
	for _, ch := range chans {
		wg.Go(func() {
			for r := range ch {
				mu.Lock()
				outcomes[r.Outcome]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)

	heap, stack := float64(idle.heap)-float64(base.heap), float64(idle.stack)-float64(base.stack)
	fmt.Printf("users %d ok %d heap+stack/user %.0f B (heap %.0f, stack %.0f) goroutines/user %.2f wall %.1fs\n",
		users, outcomes[results.OK], (heap+stack)/float64(users), heap/float64(users), stack/float64(users),
		float64(idle.goroutines-base.goroutines)/float64(users), wall.Seconds())
	if profErr != nil {
		return profErr
	}
	if outcomes[results.OK] != users {
		return fmt.Errorf("outcomes %v: want %d ok", outcomes, users)
	}
	return nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
