package loadtest_test

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/loadtest"
)

// target serves on 127.0.0.1, holding each request for hold and tracking
// the most requests in flight at once.
func target(t *testing.T, hold time.Duration) (url string, peak *atomic.Int64) {
	t.Helper()
	var inFlight atomic.Int64
	peak = &atomic.Int64{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(hold)
		w.WriteHeader(http.StatusAccepted)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/", peak
}

func get(url string) func(int) (*http.Request, error) {
	return func(int) (*http.Request, error) { return http.NewRequest(http.MethodGet, url, nil) }
}

func TestRunPacesAndBounds(t *testing.T) {
	tests := []struct {
		name        string
		total       int
		rate        float64
		maxInFlight int
		hold        time.Duration
		minElapsed  time.Duration
		maxElapsed  time.Duration
	}{
		// 50 requests at 200/s: the last is due at 245 ms.
		{name: "paced", total: 50, rate: 200, maxInFlight: 8, hold: time.Millisecond, minElapsed: 240 * time.Millisecond, maxElapsed: 2 * time.Second},
		// 20 requests held 50 ms, 2 at a time: at least 10 rounds.
		{name: "in-flight cap slows the schedule", total: 20, rate: 10000, maxInFlight: 2, hold: 50 * time.Millisecond, minElapsed: 500 * time.Millisecond, maxElapsed: 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, peak := target(t, tt.hold)
			res, err := loadtest.Run(context.Background(), loadtest.Plan{Total: tt.total, Rate: tt.rate, MaxInFlight: tt.maxInFlight, Request: get(url)})
			if err != nil {
				t.Fatalf("Run() error = %v", err)
			}
			if res.Sent != tt.total || res.Count(202, 202) != tt.total || len(res.Latencies) != tt.total {
				t.Errorf("Run() sent %d, statuses %v, %d latencies; want %d answered 202", res.Sent, res.Statuses, len(res.Latencies), tt.total)
			}
			if p := peak.Load(); p > int64(tt.maxInFlight) {
				t.Errorf("peak in flight = %d, want at most %d", p, tt.maxInFlight)
			}
			if res.Elapsed < tt.minElapsed || res.Elapsed > tt.maxElapsed {
				t.Errorf("Run() took %v, want between %v and %v", res.Elapsed, tt.minElapsed, tt.maxElapsed)
			}
		})
	}
}

func TestRunStopsWithContext(t *testing.T) {
	url, _ := target(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := loadtest.Run(ctx, loadtest.Plan{Total: 1000, Rate: 100, MaxInFlight: 4, Request: get(url)})
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Run() returned %v after a 200 ms context, want soon after it ended", took)
	}
	if res.Sent >= 1000 || res.Sent < 5 {
		t.Errorf("Run() sent %d before its context ended, want about 20", res.Sent)
	}
}

func TestRunRefusesOtherTargets(t *testing.T) {
	for _, url := range []string{"http://example.com/", "http://192.0.2.1/", "http://localhost.example/"} {
		res, err := loadtest.Run(context.Background(), loadtest.Plan{Total: 3, Rate: 10, MaxInFlight: 1, Request: get(url)})
		if err == nil || res.Sent != 0 {
			t.Errorf("Run(%s) = sent %d, error %v; want nothing sent and an error", url, res.Sent, err)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 50, 3 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 100, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := loadtest.Percentile(tt.ds, tt.p); got != tt.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.ds, tt.p, got, tt.want)
		}
	}
}
