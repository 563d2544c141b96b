package progress

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ftpbench/results"
)

// lockedBuffer is a bytes.Buffer the render goroutine writes while the
// test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// record is a cycle that started at start and had its data connection
// setup after SETUP_SENT.
func record(start time.Time, setup time.Duration, bytes int64, outcome results.Outcome) *results.Record {
	r := &results.Record{Mode: "pasv", Op: "retr", Start: start, T: results.NoPhases, Bytes: bytes, Outcome: outcome}
	r.T[results.SetupSent] = 0
	r.T[results.DataOpen] = int64(setup)
	r.T[results.Done] = int64(setup) + 1000
	return r
}

// advance lets virtual time pass by d and the render goroutine print what
// is due by then.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func TestLinesBoundedByCycles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		p := Start(Options{Out: &out, Interval: 5 * time.Second, Cycles: 1000})
		start := time.Now()
		for i := range 100 {
			outcome := results.OK
			if i < 2 {
				outcome = results.Timeout
			}
			p.Add(record(start, time.Duration(i+1)*100*time.Microsecond, 10000, outcome))
		}
		advance(5 * time.Second)
		advance(5 * time.Second) // an interval with no records
		for range 100 {
			p.Add(record(start, time.Millisecond, 0, results.OK))
		}
		advance(5 * time.Second)
		p.Stop()
		got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		want := []string{
			"progress 5s: 100 cycles (10%, ETA 45s), 20 cycles/s, 0.20 MB/s, 2 errors (2.00%), setup p99 9.9ms",
			"progress 10s: 100 cycles (10%, ETA 1m30s), 0 cycles/s, 0.00 MB/s, 2 errors (2.00%), setup p99 -",
			"progress 15s: 200 cycles (20%, ETA 1m0s), 20 cycles/s, 0.00 MB/s, 2 errors (1.00%), setup p99 1ms",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// In virtual time -d counts simulated time: the share of the run done comes
// from the records' start times, not from the wall clock.
func TestLinesBoundedByVirtualDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		p := Start(Options{Out: &out, Interval: 2 * time.Second, Duration: time.Minute})
		advance(2 * time.Second)
		epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		p.Add(record(epoch.Add(30*time.Second), time.Millisecond, 0, results.OK))
		p.Add(record(epoch, time.Millisecond, 0, results.Reset))
		advance(2 * time.Second)
		p.Stop()
		want := "progress 2s: 0 cycles (0%, ETA ?), 0 cycles/s, 0.00 MB/s, 0 errors (0.00%), setup p99 -\n" +
			"progress 4s: 2 cycles (50%, ETA 4s), 1 cycles/s, 0.00 MB/s, 1 errors (50.00%), setup p99 1ms\n"
		if got := out.String(); got != want {
			t.Errorf("lines:\n%s\nwant:\n%s", got, want)
		}
	})
}

func TestIntervalZeroIsSilent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		for _, term := range []bool{false, true} {
			p := Start(Options{Out: &out, Terminal: term, Cycles: 10})
			p.Add(record(time.Now(), time.Millisecond, 1, results.OK))
			advance(time.Minute)
			p.Stop()
		}
		if out.String() != "" {
			t.Errorf("wrote %q with Interval 0", out.String())
		}
	})
}

// The bar goes to Out and is cleared at Stop; nothing reaches stdout,
// whatever the library's own default writer is, so `--format json` output
// stays clean.
func TestTerminalBarLeavesStdoutAlone(t *testing.T) {
	stdout, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = stdout
	defer func() { os.Stdout = saved }()

	synctest.Test(t, func(t *testing.T) {
		for _, o := range []Options{
			{Cycles: 400},
			{Duration: time.Minute},
			{}, // unbounded: a spinner
		} {
			var out lockedBuffer
			o.Out, o.Terminal, o.Interval = &out, true, 5*time.Second
			p := Start(o)
			start := time.Now()
			for range 100 {
				p.Add(record(start, 2*time.Millisecond, 1000, results.OK))
			}
			advance(barRefresh)
			shown := out.String()
			for _, want := range []string{"100 cycles/s", "0.10 MB/s", "0 errors (0.00%)", "setup p99 2ms", "\033[0K"} {
				if !strings.Contains(shown, want) {
					t.Errorf("%+v: bar %q lacks %q", o, shown, want)
				}
			}
			if o.Cycles > 0 && !strings.Contains(shown, "25%") {
				t.Errorf("%+v: bar %q lacks 25%%", o, shown)
			}
			p.Stop()
			if got := out.String(); !strings.HasSuffix(got, "\033[2K\r") {
				t.Errorf("%+v: bar not cleared at Stop: %q", o, got[len(shown):])
			}
		}
	})
	info, err := stdout.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != 0 {
		b, _ := os.ReadFile(stdout.Name())
		t.Errorf("wrote %d bytes to stdout: %q", info.Size(), b)
	}
}

func TestRound3(t *testing.T) {
	for d, want := range map[time.Duration]string{
		999 * time.Nanosecond:     "999ns",
		1234567 * time.Nanosecond: "1.23ms",
		9904127 * time.Nanosecond: "9.9ms",
		61537 * time.Millisecond:  "1m1.5s",
	} {
		if got := round3(d).String(); got != want {
			t.Errorf("round3(%v) = %s, want %s", d, got, want)
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	p := Start(Options{Out: &lockedBuffer{}, Interval: time.Hour, Cycles: 1})
	defer p.Stop()
	r := record(time.Now(), 1500*time.Microsecond, 1024, results.OK)
	b.ReportAllocs()
	for b.Loop() {
		p.Add(r)
	}
}
