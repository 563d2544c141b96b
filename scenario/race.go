// Package scenario runs experiments on the simulation for ftpsim: the race
// matrix of server end-behaviours × client end-policies, and capacity
// sweeps. Every run is a fresh simulated network and server on a
// sim.VirtualClock, so a result depends only on its configuration and
// seed, and waiting costs no wall time. It composes loadgen, sim and
// results; none of them knows of it.
package scenario

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// Links is the network of an experiment: the data connections' link and,
// when set, a separate control-connection link, so that "data path
// slower than control path" is one setting.
type Links struct {
	Data    sim.Link
	Control *sim.Link // nil: control connections share the data link
}

// RaceConfig configures the race matrix.
type RaceConfig struct {
	Ends     []sim.End        // rows; default DefaultEnds
	Policies []loadgen.Policy // columns; default loadgen.Policies
	Modes    []loadgen.Mode   // default pasv
	Op       loadgen.Op       // default retr
	Cycles   int64            // per cell; default 100
	Users    int              // per cell; default 2
	Size     int64            // bytes per transfer; default 256 KiB
	Links    Links            // default DefaultLinks
	// Timeout is the user-PI's and the server's deadline, in virtual
	// time: what a stalled cell costs per cycle. Default 2s.
	Timeout time.Duration
	Seed    uint64
	// Parallel bounds how many cells run at once; default GOMAXPROCS.
	// Cells are independent, so the result does not depend on it.
	Parallel int
}

// DefaultEnds are the rows of the default matrix: every end-behaviour the
// simulated server knows.
var DefaultEnds = []sim.End{
	{Kind: sim.EndCloseThen226},
	{Kind: sim.End226ThenClose},
	{Kind: sim.End226BeforeFlush},
	{Kind: sim.EndDelayedClose, Delay: 50 * time.Millisecond},
	{Kind: sim.EndCloseThen250},
	{Kind: sim.End226AfterClientClose},
	{Kind: sim.EndNoFinalReply},
}

// DefaultLinks are the matrix's default network: 2 ms one way at 20 MiB/s,
// one link shared by control and data, as between two hosts.
var DefaultLinks = Links{Data: sim.Link{Latency: 2 * time.Millisecond, Bandwidth: 20 << 20}}

func (c *RaceConfig) defaults() {
	if len(c.Ends) == 0 {
		c.Ends = DefaultEnds
	}
	if len(c.Policies) == 0 {
		c.Policies = loadgen.Policies
	}
	if len(c.Modes) == 0 {
		c.Modes = []loadgen.Mode{loadgen.ModePASV}
	}
	if c.Op == "" {
		c.Op = loadgen.OpRETR
	}
	if c.Cycles == 0 {
		c.Cycles = 100
	}
	if c.Users == 0 {
		c.Users = 2
	}
	if c.Size == 0 {
		c.Size = 256 << 10
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Links.Data == (sim.Link{}) && c.Links.Control == nil {
		c.Links = DefaultLinks
	}
}

// Cell is one server end-behaviour × client policy: the summary of its
// cycles.
type Cell struct {
	End    string            `json:"end"`
	Policy string            `json:"policy"`
	Stats  results.ModeStats `json:"stats"`
}

// Race runs every cell of the matrix and returns them row by row (ends in
// order, policies in order within a row). Cell i runs with seed
// cfg.Seed*1_000_003 + i, so one cell can be replayed alone.
func Race(ctx context.Context, cfg RaceConfig) ([]Cell, error) {
	cfg.defaults()
	cells := make([]Cell, len(cfg.Ends)*len(cfg.Policies))
	err := forEach(ctx, len(cells), cfg.Parallel, func(i int) error {
		end, policy := cfg.Ends[i/len(cfg.Policies)], cfg.Policies[i%len(cfg.Policies)]
		sum, err := runCell(ctx, cfg, end, policy, cfg.Seed*1_000_003+uint64(i))
		if err != nil {
			return fmt.Errorf("cell %s × %s: %w", end, policy, err)
		}
		cells[i] = Cell{End: end.String(), Policy: policy.String(), Stats: sum.All()}
		return nil
	})
	return cells, err
}

// forEach calls run(i) for i in [0, n), at most parallel (default
// GOMAXPROCS) at a time, and returns the first error by index, or ctx's.
// Each run is a whole simulation on its own clock, so running them on
// separate cores changes nothing in their results.
func forEach(ctx context.Context, n, parallel int, run func(i int) error) error {
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	errs := make([]error, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = run(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// runCell runs one cell on its own virtual clock and network.
func runCell(ctx context.Context, cfg RaceConfig, end sim.End, policy loadgen.Policy, seed uint64) (*results.Summary, error) {
	return simulate(ctx, simRun{
		seed: seed, links: cfg.Links, users: cfg.Users, timeout: cfg.Timeout,
		knobs: sim.RaceKnobs{End: sim.EndMix{{End: end, Weight: 1}}, Seed: seed},
		load: loadgen.Config{
			Modes: cfg.Modes, Op: cfg.Op, Size: cfg.Size, Users: cfg.Users,
			Cycles: cfg.Cycles, Timeout: cfg.Timeout, Policy: policy,
		},
	})
}

// simRun is one load run on a fresh simulated testbed.
type simRun struct {
	seed     uint64
	links    Links
	users    int
	timeout  time.Duration
	knobs    sim.RaceKnobs
	load     loadgen.Config // Network, Clock and Target are filled in
	duration time.Duration  // virtual; 0 when load.Cycles bounds the run
}

// simulate runs r in virtual time and summarises its records.
func simulate(ctx context.Context, r simRun) (*results.Summary, error) {
	vc := sim.NewVirtualClock(r.seed, time.Time{})
	net := sim.Config{Clock: vc, Link: r.links.Data, Seed: r.seed, Backlog: r.users + 128}
	if r.links.Control != nil {
		net.PortLinks = map[int]sim.Link{21: *r.links.Control}
	}
	tb, err := sim.StartTestbed(sim.TestbedConfig{
		Net: net,
		// The server's idle timeout outlasts the user-PI's, so a stalled
		// transfer shows as the client's timeout, not the server's 421.
		Server: sim.ServerConfig{Anonymous: true, Timeout: 3 * r.timeout, Race: r.knobs},
	})
	if err != nil {
		return nil, err
	}
	defer tb.Close()
	cfg := r.load
	cfg.Network, cfg.Clock = tb.Client, vc
	cfg.Duration = r.duration
	path := fmt.Sprintf("/size/%d", cfg.Size)
	if cfg.Op == loadgen.OpSTOR {
		path = "/upload/{user}.bin"
	}
	cfg.Target = loadgen.Target{Addr: tb.Addr, User: "anonymous", Password: "ftpsim@", Path: path}
	ch, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	vc.Start()
	sum := results.NewSummary()
	for rec := range ch {
		sum.Add(&rec)
	}
	return sum, nil
}
