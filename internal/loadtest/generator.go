package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Plan is a fixed schedule of requests: Total requests, the i-th sent at
// start + i/Rate, with at most MaxInFlight waiting for an answer. When every
// slot is taken the schedule slips rather than piling up requests.
type Plan struct {
	Total       int
	Rate        float64 // requests per second
	MaxInFlight int
	// Request builds the i-th request; its URL must be on loopback.
	Request func(i int) (*http.Request, error)
	// Client sends the requests; nil means one with MaxInFlight idle
	// connections, so no connection is opened per request.
	Client *http.Client
}

// Result is what a run saw.
type Result struct {
	Sent            int
	Statuses        map[int]int // answers by HTTP status
	TransportErrors int
	// Latencies are the times from sending a request to reading its whole
	// answer, for the requests answered.
	Latencies []time.Duration
	// Elapsed is from the first request to the last answer.
	Elapsed time.Duration
	// MaxLag is how far the schedule slipped at worst.
	MaxLag time.Duration
}

// Count returns the answers with a status in [lo, hi].
func (r Result) Count(lo, hi int) int {
	n := 0
	for s, c := range r.Statuses {
		if s >= lo && s <= hi {
			n += c
		}
	}
	return n
}

// Run sends the plan's requests until all are sent or ctx ends, then waits
// for the answers of those in flight (each bounded by ctx too).
func Run(ctx context.Context, p Plan) (Result, error) {
	if p.Total <= 0 || p.Rate <= 0 || p.MaxInFlight <= 0 || p.Request == nil {
		return Result{}, errors.New("plan needs Total, Rate, MaxInFlight and Request")
	}
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: p.MaxInFlight, MaxIdleConnsPerHost: p.MaxInFlight}}
	}
	res := Result{Statuses: map[int]int{}, Latencies: make([]time.Duration, 0, p.Total)}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		slots = make(chan struct{}, p.MaxInFlight)
	)
	interval := time.Duration(float64(time.Second) / p.Rate)
	start := time.Now()
	var err error
loop:
	for i := range p.Total {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				break loop
			case <-t.C:
			}
		}
		select {
		case <-ctx.Done():
			break loop
		case slots <- struct{}{}:
		}
		if lag := time.Since(due); lag > res.MaxLag {
			res.MaxLag = lag
		}
		req, rerr := p.Request(i)
		if rerr == nil {
			rerr = loopbackOnly(req.URL)
		}
		if rerr != nil {
			<-slots
			err = fmt.Errorf("request %d: %w", i, rerr)
			break
		}
		res.Sent++
		wg.Go(func() {
			defer func() { <-slots }()
			sent := time.Now()
			resp, derr := client.Do(req.WithContext(ctx))
			if derr == nil {
				_, derr = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			took := time.Since(sent)
			mu.Lock()
			defer mu.Unlock()
			if derr != nil && resp == nil {
				res.TransportErrors++
				return
			}
			res.Statuses[resp.StatusCode]++
			res.Latencies = append(res.Latencies, took)
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res, err
}

// loopbackOnly refuses a target that is not a loopback address: the load
// generator must never be pointed at anything but the local stack.
func loopbackOnly(u *url.URL) error {
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("target %s is not a loopback IP address", u.Host)
	}
	return nil
}
