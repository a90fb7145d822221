package mailchimp

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestConcurrencyLimit(t *testing.T) {
	tests := []struct {
		concurrent int
		want429    int
	}{
		{10, 0},
		{11, 1},
		{14, 4},
	}
	for _, tt := range tests {
		e := newEnv(t)
		e.srv.SetLatency(400 * time.Millisecond)
		codes := make(chan int, tt.concurrent)
		var start, wg sync.WaitGroup
		start.Add(1)
		for range tt.concurrent {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/3.0/ping", nil)
				req.Header.Set("Authorization", "Bearer "+testKey)
				start.Wait()
				resp, err := e.http.Client().Do(req)
				if err != nil {
					t.Errorf("GET /ping: %v", err)
					return
				}
				resp.Body.Close()
				codes <- resp.StatusCode
			}()
		}
		start.Done()
		wg.Wait()
		close(codes)
		got := map[int]int{}
		for c := range codes {
			got[c]++
		}
		if got[429] != tt.want429 || got[200] != tt.concurrent-tt.want429 {
			t.Errorf("%d concurrent GET /ping = %v, want %d×200 and %d×429", tt.concurrent, got, tt.concurrent-tt.want429, tt.want429)
		}
		if st := e.srv.Stats(); st.TooManyRequests != tt.want429 || st.PeakInFlight != min(tt.concurrent, maxInFlight) {
			t.Errorf("%d concurrent: Stats() = 429s %d peak %d, want %d and %d", tt.concurrent, st.TooManyRequests, st.PeakInFlight, tt.want429, min(tt.concurrent, maxInFlight))
		}
		// Once the slots are free again, requests pass.
		if resp, body := e.do("GET", "/3.0/ping", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /ping after the burst = %d %s, want 200", resp.StatusCode, body)
		}
	}
}

func TestTooManyRequestsBody(t *testing.T) {
	e := newEnv(t)
	e.srv.SetLatency(300 * time.Millisecond)
	var wg sync.WaitGroup
	for range maxInFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/3.0/ping", nil)
			req.Header.Set("Authorization", "Bearer "+testKey)
			if resp, err := e.http.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	defer wg.Wait()
	deadline := time.Now().Add(time.Second)
	for e.srv.Stats().PeakInFlight < maxInFlight && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	resp, body := e.do("GET", "/3.0/lists", nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("11th GET /lists = %d %s, want 429", resp.StatusCode, body)
	}
	if p := decodeProblem(t, resp, body); p.Title != "Too Many Requests" {
		t.Errorf("11th GET /lists title = %q, want Too Many Requests", p.Title)
	}
}
