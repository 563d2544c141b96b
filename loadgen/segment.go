package loadgen

import (
	"fmt"
	"strconv"
	"strings"
)

// Segment is shard Index of Count (from 0) of a run split across
// processes or hosts (`--segment i/N`). Each shard runs its share of the
// users, cycles and rate, and numbers its cycles i, i+N, i+2N, …, so the
// shards' seq spaces are disjoint and their merge is gap-free. The zero
// Segment is the whole run.
type Segment struct {
	Index, Count int
}

// ParseSegment parses "i/N" with 0 ≤ i < N.
func ParseSegment(s string) (Segment, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil {
		return Segment{}, fmt.Errorf("segment %q: want i/N, e.g. 0/4", s)
	}
	if n < 1 || i < 0 || i >= n {
		return Segment{}, fmt.Errorf("segment %q: want i/N with 0 ≤ i < N", s)
	}
	return Segment{Index: i, Count: n}, nil
}

func (s Segment) validate() error {
	if s == (Segment{}) {
		return nil
	}
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("segment %d/%d: want 0 ≤ i < N", s.Index, s.Count)
	}
	return nil
}

func (s Segment) count() int { return max(s.Count, 1) }

// String prints "i/N", or "" for the whole run (records then carry no
// segment).
func (s Segment) String() string {
	if s == (Segment{}) {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Share returns this shard's part of an integer total split N ways: the
// first total%N shards get one more, so 10 over 3 is 4, 3, 3 and the
// parts always add up to the total.
func (s Segment) Share(total int64) int64 {
	n := int64(s.count())
	part := total / n
	if int64(s.Index) < total%n {
		part++
	}
	return part
}

// Split returns cfg as shard s runs it: its share of users, cycles, the
// in-flight bound and user stages, and 1/N of the rate. Rates split
// exactly; user counts and cycles by Share, so the shards add up to the
// whole run.
func (s Segment) Split(cfg Config) Config {
	cfg.Segment = s
	if s.count() == 1 {
		return cfg
	}
	cfg.Users = int(max(s.Share(int64(cfg.Users)), 1))
	if cfg.Cycles > 0 {
		cfg.Cycles = max(s.Share(cfg.Cycles), 1)
	}
	if cfg.MaxInFlight > 0 {
		cfg.MaxInFlight = int(max(s.Share(int64(cfg.MaxInFlight)), 1))
	}
	if len(cfg.UserStages) > 0 {
		stages := make([]Stage, len(cfg.UserStages))
		for i, st := range cfg.UserStages {
			stages[i] = Stage{Duration: st.Duration, Target: float64(s.Share(int64(st.Target)))}
		}
		cfg.UserStages = stages
	}
	if p, ok := cfg.Pacer.(StagesPacer); ok {
		f := 1 / float64(s.count())
		scaled := StagesPacer{Start: p.Start * f, Stages: make([]Stage, len(p.Stages))}
		for i, st := range p.Stages {
			scaled.Stages[i] = Stage{Duration: st.Duration, Target: st.Target * f}
		}
		cfg.Pacer = scaled
	}
	return cfg
}
