// Package progress shows how far a run has got while its records arrive: a
// bar redrawn in place on a terminal, or one plain line per interval on
// anything else (a CI log, a file, a pipe). It writes only to the writer it
// is given — stderr in ftpbench — never to stdout, so that a summary
// printed there (--format json) stays machine-readable.
//
// The bar is drawn by github.com/schollz/progressbar/v3 rather than
// github.com/vbauerster/mpb/v8: one bar whose description carries the
// live figures is all a run needs, and progressbar renders synchronously
// when told to, from our own ticker, with no render goroutine or bar
// container of its own to start and shut down (mpb's model is a container
// of many bars refreshed by its own goroutine, built for parallel
// downloads). Both are maintained; progressbar has the smaller API and
// dependency set (x/term, uniseg, colorstring).
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"ftpbench/results"
)

// barRefresh is how often the terminal bar is redrawn, and the window its
// rates and p99 are computed over: once a second is as often as a person
// can read a changing number, and long enough for a p99 to mean something.
const barRefresh = time.Second

// barSteps is the bar's resolution: it counts per-mille of the run, so a
// run bounded by cycles and one bounded by time fill it the same way.
const barSteps = 1000

// Histogram range of set-up latencies: 1 ns to 1 h at 3 significant
// digits, the same precision as the run's summary.
const (
	histLowest  = 1
	histHighest = int64(time.Hour)
	histSigFigs = 3
)

// Options configures a Progress.
type Options struct {
	// Out receives the progress; nil means os.Stderr. Never stdout: that
	// is where the summary goes, and --format json must stay parseable.
	Out io.Writer
	// Terminal selects the bar, redrawn in place every second, over plain
	// lines; IsTerminal(Out) tells whether Out is one.
	Terminal bool
	// Interval is the time between two plain lines. Zero disables
	// progress output altogether, the bar included: it is how a user
	// asks for silence.
	Interval time.Duration
	// Cycles and Duration are the run's bounds, as in loadgen.Config:
	// with either, progress shows the share of the run done and an ETA.
	// Duration is compared with the records' own start times, so it is
	// right in virtual time too, where -d counts simulated time.
	Cycles   int64
	Duration time.Duration
}

// Progress aggregates the records of a running run just enough to report
// on it. Add is called for every record on the consumer's goroutine and
// costs a mutex and a histogram increment; rendering happens on a
// goroutine of its own, once per interval.
type Progress struct {
	opts  Options
	start time.Time
	bar   *progressbar.ProgressBar // nil unless Terminal

	mu            sync.Mutex
	cycles        int64                   // since the start
	errors        int64                   // cycles whose outcome is not ok, since the start
	ivCycles      int64                   // in the current interval
	ivBytes       int64                   // in the current interval
	setup         *hdrhistogram.Histogram // set-up latencies of the current interval
	first, latest time.Time               // earliest and latest record start

	stop chan struct{} // closed by Stop
	done chan struct{} // closed when the render goroutine has returned
}

// IsTerminal reports whether w is a terminal, where a bar redrawn in place
// is readable; in a file or a CI log it would be a mess of carriage
// returns, so plain lines go there instead.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Start begins reporting; call Add for each record and Stop at the end.
func Start(o Options) *Progress {
	if o.Out == nil {
		o.Out = os.Stderr
	}
	p := &Progress{opts: o, start: time.Now()}
	if o.Interval <= 0 {
		return p
	}
	p.setup = hdrhistogram.New(histLowest, histHighest, histSigFigs)
	every := o.Interval
	if o.Terminal {
		every = barRefresh
		steps := int64(barSteps)
		if !p.bounded() {
			steps = -1 // a spinner
		}
		p.bar = progressbar.NewOptions64(steps,
			progressbar.OptionSetWriter(o.Out), // its default is os.Stdout
			progressbar.OptionSetWidth(20),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(p.bounded()),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetSpinnerChangeInterval(0), // no goroutine of its own
			progressbar.OptionUseANSICodes(true),
			progressbar.OptionClearOnFinish(),
		)
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop(every)
	return p
}

// Add counts one record. r may be reused afterwards.
func (p *Progress) Add(r *results.Record) {
	if p.stop == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cycles++
	p.ivCycles++
	p.ivBytes += r.Bytes
	if r.Outcome != results.OK {
		p.errors++
	}
	if d, ok := r.SetupLatency(); ok {
		_ = p.setup.RecordValue(min(max(int64(d), histLowest), histHighest)) // in range: cannot fail
	}
	if p.first.IsZero() || r.Start.Before(p.first) {
		p.first = r.Start
	}
	if r.Start.After(p.latest) {
		p.latest = r.Start
	}
}

// Stop ends reporting and returns once nothing more will be written: the
// bar is cleared from the terminal (the summary follows), and no final
// line is printed.
func (p *Progress) Stop() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	if p.bar != nil {
		_ = p.bar.Finish() // clears the line: OptionClearOnFinish
	}
}

func (p *Progress) loop(every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(every)
	defer t.Stop()
	last := p.start
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			s := p.snapshot(now, now.Sub(last))
			last = now
			if p.bar != nil {
				p.bar.Describe(s.figures())
				_ = p.bar.Set64(min(int64(s.frac*barSteps), barSteps-1)) // full only at Stop
			} else {
				fmt.Fprintln(p.opts.Out, s.line())
			}
		}
	}
}

func (p *Progress) bounded() bool { return p.opts.Cycles > 0 || p.opts.Duration > 0 }

// snapshot is what one report shows.
type snapshot struct {
	elapsed        time.Duration
	cycles, errors int64
	rate, mbps     float64 // over the last interval
	p99            time.Duration
	hasP99         bool
	bounded        bool
	frac           float64 // share of the run done, when bounded
}

// snapshot reads the figures and starts a new interval of length iv.
func (p *Progress) snapshot(now time.Time, iv time.Duration) snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := snapshot{elapsed: now.Sub(p.start), cycles: p.cycles, errors: p.errors, bounded: p.bounded()}
	if secs := iv.Seconds(); secs > 0 {
		s.rate = float64(p.ivCycles) / secs
		s.mbps = float64(p.ivBytes) / 1e6 / secs
	}
	if p.setup.TotalCount() > 0 {
		s.p99, s.hasP99 = time.Duration(p.setup.ValueAtQuantile(99)), true
	}
	if p.opts.Cycles > 0 {
		s.frac = float64(p.cycles) / float64(p.opts.Cycles)
	}
	if p.opts.Duration > 0 && !p.first.IsZero() {
		s.frac = max(s.frac, float64(p.latest.Sub(p.first))/float64(p.opts.Duration))
	}
	s.frac = min(s.frac, 1)
	p.ivCycles, p.ivBytes = 0, 0
	p.setup.Reset()
	return s
}

// line is the plain-text report, for instance
//
//	progress 10s: 4000 cycles (40%, ETA 15s), 400 cycles/s, 0.41 MB/s, 2 errors (0.05%), setup p99 1.21ms
//
// Cycles and errors count from the start; cycles/s, MB/s (10⁶ bytes) and
// the set-up p99 are over the last interval. The ETA extrapolates the
// elapsed wall time by the share of the run done.
func (s snapshot) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "progress %v: %d cycles", s.elapsed.Round(time.Second), s.cycles)
	if s.bounded {
		fmt.Fprintf(&b, " (%.0f%%, ETA %s)", 100*s.frac, s.eta())
	}
	b.WriteString(", ")
	b.WriteString(s.figures())
	return b.String()
}

// figures is the part of a report that the bar shows as its description.
func (s snapshot) figures() string {
	errPct := 0.0
	if s.cycles > 0 {
		errPct = 100 * float64(s.errors) / float64(s.cycles)
	}
	p99 := "-"
	if s.hasP99 {
		p99 = round3(s.p99).String()
	}
	return fmt.Sprintf("%.0f cycles/s, %.2f MB/s, %d errors (%.2f%%), setup p99 %s", s.rate, s.mbps, s.errors, errPct, p99)
}

func (s snapshot) eta() string {
	if s.frac <= 0 {
		return "?"
	}
	left := time.Duration(float64(s.elapsed) * (1 - s.frac) / s.frac)
	return left.Round(time.Second).String()
}

// round3 rounds d to three significant digits, the histogram's precision.
func round3(d time.Duration) time.Duration {
	unit := time.Duration(1)
	for v := d; v >= 1000; v /= 10 {
		unit *= 10
	}
	return d.Round(unit)
}
