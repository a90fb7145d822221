package local

import (
	"time"

	"github.com/apmc-sync/apmc/internal/app/reconcileapp"
)

// scheduleReconcile reconciles every instance each interval until Close,
// as the deployed schedule invokes the reconcile function; a non-positive
// interval schedules nothing.
func (s *Stack) scheduleReconcile(every time.Duration) {
	if every <= 0 {
		return
	}
	s.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.runCtx.Done():
				return
			case at := <-t.C:
				// Failures are logged per instance by the service; the next
				// tick tries again.
				_, _ = s.Reconcile.Handle(s.runCtx, reconcileapp.Event{ScheduledTime: at})
			}
		}
	})
}
