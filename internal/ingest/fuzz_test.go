package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ingest"
)

// oneInstance is the domain port apmc.WebhookAuths over a single instance.
type oneInstance struct{ in apmc.Instance }

func (o oneInstance) WebhookAuth(_ context.Context, id string, _ apmc.Side) (apmc.WebhookAuth, error) {
	if id != o.in.ID {
		return apmc.WebhookAuth{}, fmt.Errorf("instance %s: %w", id, apmc.ErrNotFound)
	}
	return apmc.WebhookAuth{Tokens: []apmc.TokenDigest{{Digest: apmc.DigestToken(o.in.Secrets.AccessplanitToken)}}}, nil
}

// countingQueue is the Enqueuer port that only counts.
type countingQueue struct {
	mu sync.Mutex
	n  int
}

func (q *countingQueue) Enqueue(context.Context, apmc.Change) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.n++
	return nil
}

func (q *countingQueue) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// FuzzAccessplanitHandler checks that no body makes the endpoint fail: the
// answer is 202 exactly when a change was queued, otherwise a 4xx with an
// error message, always JSON.
func FuzzAccessplanitHandler(f *testing.F) {
	samples, _ := filepath.Glob(filepath.Join("..", "accessplanit", "testdata", "webhooks", "*.json"))
	for _, p := range samples {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatalf("read %s: %v", p, err)
		}
		f.Add("PUT", "application/json", b)
	}
	f.Add("POST", "text/plain", []byte(`{"ID":"1","Email":"\uffff@example.com"}`))
	f.Add("DELETE", "", []byte("\xff"))
	f.Add("GET", "text/html", []byte(""))

	in := validInstance(plainID)
	q := &countingQueue{}
	srv := httptest.NewServer(ingest.NewAccessplanit(ingest.Deps{Webhooks: oneInstance{in}, Queue: q, MaxBody: 4096}))
	defer srv.Close()
	url := srv.URL + "/webhooks/accessplanit/" + in.ID + "/" + in.Secrets.AccessplanitToken

	f.Fuzz(func(t *testing.T, method, contentType string, body []byte) {
		if strings.ContainsAny(method, " \t\r\n") || method == "" || method == http.MethodConnect || strings.ContainsAny(contentType, "\r\n") {
			t.Skip()
		}
		req, err := http.NewRequest(method, url, strings.NewReader(string(body)))
		if err != nil {
			t.Skip()
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		before := q.count()
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Skip() // a method or header the client refuses to send
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		queued := q.count() - before
		if method == http.MethodHead {
			return
		}
		var got struct{ Status, Error string }
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%s %q: body %q is not JSON: %v", method, body, raw, err)
		}
		switch {
		case res.StatusCode == http.StatusAccepted:
			if queued != 1 || got.Status != "queued" {
				t.Fatalf("%s %q = 202 %s with %d queued, want exactly one", method, body, raw, queued)
			}
		case res.StatusCode >= 400 && res.StatusCode < 500:
			if queued != 0 || got.Error == "" {
				t.Fatalf("%s %q = %d %s with %d queued, want an error and nothing queued", method, body, res.StatusCode, raw, queued)
			}
		default:
			t.Fatalf("%s %q = %d %s, want 202 or 4xx", method, body, res.StatusCode, raw)
		}
	})
}
