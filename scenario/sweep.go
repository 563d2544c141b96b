package scenario

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"ftpbench/loadgen"
	"ftpbench/results"
	"ftpbench/sim"
)

// SweepConfig configures a capacity sweep: every number of users at every
// link latency, each point a closed-model run of Duration virtual time.
type SweepConfig struct {
	Users     []int           // default 1, 10, 100, 1000
	Latencies []time.Duration // one-way; default 1ms, 10ms, 50ms
	Bandwidth int64           // per direction of the shared link; 0 unlimited
	Duration  time.Duration   // virtual time per point; default 10s
	Modes     []loadgen.Mode  // default pasv
	Op        loadgen.Op      // default retr
	Size      int64           // default 64 KiB
	Think     time.Duration
	Timeout   time.Duration // default 10s
	Seed      uint64
	Parallel  int // points run at once; default GOMAXPROCS
}

// Point is one (users, latency) run of a sweep.
type Point struct {
	Users   int               `json:"users"`
	Latency time.Duration     `json:"latency_ns"`
	Stats   results.ModeStats `json:"stats"`
}

func (c *SweepConfig) defaults() {
	if len(c.Users) == 0 {
		c.Users = []int{1, 10, 100, 1000}
	}
	if len(c.Latencies) == 0 {
		c.Latencies = []time.Duration{time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond}
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if len(c.Modes) == 0 {
		c.Modes = []loadgen.Mode{loadgen.ModePASV}
	}
	if c.Op == "" {
		c.Op = loadgen.OpRETR
	}
	if c.Size == 0 {
		c.Size = 64 << 10
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
}

// Sweep runs every point, latency-major, and returns them in that order.
// Point i runs with seed cfg.Seed*1_000_003 + i.
func Sweep(ctx context.Context, cfg SweepConfig) ([]Point, error) {
	cfg.defaults()
	points := make([]Point, 0, len(cfg.Users)*len(cfg.Latencies))
	for _, lat := range cfg.Latencies {
		for _, u := range cfg.Users {
			points = append(points, Point{Users: u, Latency: lat})
		}
	}
	err := forEach(ctx, len(points), cfg.Parallel, func(i int) error {
		p := &points[i]
		sum, err := simulate(ctx, simRun{
			seed: cfg.Seed*1_000_003 + uint64(i), users: p.Users, timeout: cfg.Timeout,
			links:    Links{Data: sim.Link{Latency: p.Latency, Bandwidth: cfg.Bandwidth}},
			duration: cfg.Duration,
			load: loadgen.Config{
				Modes: cfg.Modes, Op: cfg.Op, Size: cfg.Size, Users: p.Users,
				Think: cfg.Think, Timeout: cfg.Timeout,
			},
		})
		if err != nil {
			return fmt.Errorf("%d users at %v: %w", p.Users, p.Latency, err)
		}
		p.Stats = sum.All()
		return nil
	})
	return points, err
}

var sweepHeader = []string{"users", "latency", "cycles", "cycles/s", "MB/s", "setup p50", "setup p99", "errors%"}

// WriteSweep prints a sweep as "text", "csv" or "json".
func WriteSweep(w io.Writer, points []Point, format string) error {
	var csvRows, textRows [][]string
	for _, p := range points {
		s := p.Stats
		errPct := 0.0
		if s.Cycles > 0 {
			errPct = 100 * float64(s.Cycles-s.OK) / float64(s.Cycles)
		}
		head := []string{strconv.Itoa(p.Users), p.Latency.String(), strconv.FormatInt(s.Cycles, 10),
			strconv.FormatFloat(s.CyclesPerSec, 'f', 2, 64), strconv.FormatFloat(s.BytesPerSec/1e6, 'f', 3, 64)}
		csvRows = append(csvRows, append(slices.Clone(head),
			strconv.FormatInt(int64(s.Setup.P50), 10), strconv.FormatInt(int64(s.Setup.P99), 10), pctText(errPct)))
		textRows = append(textRows, append(head, s.Setup.P50.String(), s.Setup.P99.String(), pctText(errPct)))
	}
	return writeTable(w, format, sweepHeader, points, csvRows, textRows)
}

// SweepChart draws a sweep as a capacity curve, one line per latency.
func SweepChart(points []Point) (*results.Chart, error) {
	var series []results.CapacitySeries
	for _, p := range points {
		name := "latency " + p.Latency.String()
		if len(series) == 0 || series[len(series)-1].Name != name {
			series = append(series, results.CapacitySeries{Name: name})
		}
		s := &series[len(series)-1]
		s.Users = append(s.Users, float64(p.Users))
		s.CyclesPerSec = append(s.CyclesPerSec, p.Stats.CyclesPerSec)
		s.SetupP99 = append(s.SetupP99, float64(p.Stats.Setup.P99))
	}
	return results.CapacityChart(series)
}
