package loadgen

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestWallClockWaker: as TestVirtualClockWaker in package sim, in a
// synctest bubble's time: a Wake before any Wait is kept (two collapse
// into one), a Wait times out at its deadline, a Wake ends a Wait at
// once, and the waker's one timer serves every Wait.
func TestWallClockWaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := WallClock{}.NewWaker()
		type step struct {
			at   time.Duration
			woke bool
		}
		var got []step
		t0 := time.Now()
		wait := func(d time.Duration) {
			var deadline time.Time
			if d > 0 {
				deadline = time.Now().Add(d)
			}
			woke := w.Wait(deadline)
			got = append(got, step{time.Since(t0), woke})
		}
		w.Wake()
		w.Wake()
		wait(0)
		wait(time.Second)
		time.AfterFunc(100*time.Millisecond, w.Wake)
		wait(time.Second)
		wait(50 * time.Millisecond)
		want := []step{{0, true}, {time.Second, false}, {1100 * time.Millisecond, true}, {1150 * time.Millisecond, false}}
		if !slices.Equal(got, want) {
			t.Errorf("waits = %v, want %v", got, want)
		}
	})
}
