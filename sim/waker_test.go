package sim_test

import (
	"slices"
	"testing"
	"time"

	"ftpbench/sim"
)

// TestVirtualClockWaker: a Wake before any Wait is kept (and two collapse
// into one), a Wait with nothing to wake it ends at its deadline in
// virtual time, and a Wake from a timer ends the Wait at that instant.
func TestVirtualClockWaker(t *testing.T) {
	vc := sim.NewVirtualClock(1, time.Time{})
	w := vc.NewWaker()
	type step struct {
		at   time.Duration
		woke bool
	}
	var got []step
	done := make(chan struct{})
	t0 := vc.Now()
	wait := func(d time.Duration) {
		var deadline time.Time
		if d > 0 {
			deadline = vc.Now().Add(d)
		}
		woke := w.Wait(deadline)
		got = append(got, step{vc.Now().Sub(t0), woke})
	}
	vc.Go(func() {
		defer close(done)
		w.Wake()
		w.Wake()
		wait(0)
		wait(time.Second)
		vc.AfterFunc(100*time.Millisecond, w.Wake)
		wait(time.Second)
	})
	vc.Start()
	<-done
	want := []step{{0, true}, {time.Second, false}, {1100 * time.Millisecond, true}}
	if !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}
