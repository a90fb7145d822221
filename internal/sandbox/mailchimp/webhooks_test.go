package mailchimp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint on 127.0.0.1 that records what it gets.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	getAgents []string
	posts     []delivery
	getStatus int
	failPosts int // answer 500 to this many POSTs first
}

type delivery struct {
	contentType, signature string
	body                   []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{getStatus: 200}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if r.Method == http.MethodGet {
			rc.getAgents = append(rc.getAgents, r.UserAgent())
			w.WriteHeader(rc.getStatus)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if rc.failPosts > 0 {
			rc.failPosts--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		rc.posts = append(rc.posts, delivery{r.Header.Get("Content-Type"), r.Header.Get(SignatureHeader), body})
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery{}, rc.posts...)
}

// register registers rc's URL on e's audience and returns the signing secret.
func (e *env) register(t *testing.T, rc *receiver, path string, sources map[string]bool) string {
	t.Helper()
	resp, body := e.do("POST", "/3.0/lists/"+e.listID+"/webhooks", map[string]any{
		"url":     rc.URL + path,
		"events":  map[string]bool{"subscribe": true, "unsubscribe": true, "profile": true, "cleaned": true, "upemail": true, "campaign": false},
		"sources": sources,
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST webhooks = %d %s, want 200", resp.StatusCode, body)
	}
	secret, _ := decodeObject(t, body)["signing_secret"].(string)
	if secret == "" {
		t.Fatalf("POST webhooks answer %s has no signing_secret", body)
	}
	return secret
}

// verify checks d's signature with secret as a receiver must, independently
// of Sign, and returns the decoded form.
func verify(t *testing.T, d delivery, secret string) url.Values {
	t.Helper()
	if d.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("delivery Content-Type = %q, want application/x-www-form-urlencoded", d.contentType)
	}
	ts, sig, ok := strings.Cut(d.signature, ",v1=")
	ts, tsOK := strings.CutPrefix(ts, "t=")
	if !ok || !tsOK {
		t.Fatalf("X-Mailchimp-Signature = %q, want t=...,v1=...", d.signature)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(unix, 0)).Abs() > 5*time.Minute {
		t.Errorf("signature timestamp %q is not within 5 minutes of now", ts)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(d.body)))
	if want := hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(sig), []byte(want)) {
		t.Errorf("signature v1 = %s, want %s", sig, want)
	}
	form, err := url.ParseQuery(string(d.body))
	if err != nil {
		t.Fatalf("parse delivery body %q: %v", d.body, err)
	}
	if _, err := time.Parse("2006-01-02 15:04:05", form.Get("fired_at")); err != nil {
		t.Errorf("fired_at = %q, want YYYY-MM-DD HH:MM:SS", form.Get("fired_at"))
	}
	return form
}

func TestWebhookRegistration(t *testing.T) {
	tests := []struct {
		name      string
		getStatus int
		wantCode  int
	}{
		{"endpoint answers 200", 200, 200},
		{"endpoint answers 404", 404, 400},
		{"endpoint answers 500", 500, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rc := newReceiver(t)
			rc.getStatus = tt.getStatus
			resp, body := e.do("POST", "/3.0/lists/"+e.listID+"/webhooks", map[string]any{"url": rc.URL + "/hook/secret-token", "sources": map[string]bool{"api": true}})
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("POST webhooks = %d %s, want %d", resp.StatusCode, body, tt.wantCode)
			}
			if len(rc.getAgents) != 1 || rc.getAgents[0] != "MailChimp.com WebHook Validator" {
				t.Errorf("validation GETs = %q, want one with User-Agent MailChimp.com WebHook Validator", rc.getAgents)
			}
			if tt.wantCode != 200 {
				decodeProblem(t, resp, body)
				return
			}
			_, list := e.do("GET", "/3.0/lists/"+e.listID+"/webhooks", nil)
			if strings.Contains(string(list), "signing_secret") || !strings.Contains(string(list), "/hook/secret-token") {
				t.Errorf("GET webhooks = %s, want the webhook without signing_secret", list)
			}
			// The same URL, or one differing only by query, is refused.
			resp, body = e.do("POST", "/3.0/lists/"+e.listID+"/webhooks", map[string]any{"url": rc.URL + "/hook/secret-token?x=1"})
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("POST duplicate webhook = %d %s, want 400", resp.StatusCode, body)
			}
		})
	}
}

func TestWebhookDeliveries(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	secret := e.register(t, rc, "/all", map[string]bool{"user": true, "admin": true, "api": true})
	other := newReceiver(t)
	e.register(t, other, "/no-api", map[string]bool{"user": true, "admin": true, "api": false})

	ann := "ann@example.com"
	e.run(t, []step{
		{name: "create", method: "PUT", path: e.memberPath(ann), wantCode: 200, body: map[string]any{"email_address": ann, "status_if_new": "subscribed",
			"merge_fields": map[string]any{"FNAME": "Ann", "ADDRESS": map[string]any{"addr1": "1 Main St", "city": "Leeds", "state": "WY", "zip": "LS1"}}}},
		{name: "same values again", method: "PUT", path: e.memberPath(ann), wantCode: 200, body: map[string]any{"email_address": ann, "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "Ann"}}},
		{name: "profile", method: "PATCH", path: e.memberPath(ann), wantCode: 200, body: map[string]any{"merge_fields": map[string]any{"LNAME": "Lee"}}},
		{name: "email", method: "PATCH", path: e.memberPath(ann), wantCode: 200, body: map[string]any{"email_address": "ann.lee@example.com"}},
	})
	if err := e.srv.EditMemberInUI(e.listID, "ann.lee@example.com", map[string]any{"FNAME": "Annie"}, "user"); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.UnsubscribeInUI(e.listID, "ann.lee@example.com", "unsub"); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Clean(e.listID, "ann.lee@example.com", "hard"); err != nil {
		t.Fatal(err)
	}
	if !e.srv.WaitWebhooks(5 * time.Second) {
		t.Fatal("WaitWebhooks(5s) = false, want every delivery done")
	}

	want := []map[string]string{
		{"type": "subscribe", "data[email]": ann, "data[merges][FNAME]": "Ann", "data[merges][EMAIL]": ann, "data[merges][ADDRESS][addr1]": "1 Main St", "data[merges][ADDRESS][city]": "Leeds", "data[list_id]": e.listID},
		{"type": "profile", "data[merges][LNAME]": "Lee", "data[merges][FNAME]": "Ann"},
		{"type": "upemail", "data[old_email]": ann, "data[new_email]": "ann.lee@example.com", "data[list_id]": e.listID},
		{"type": "profile", "data[merges][FNAME]": "Annie", "data[email]": "ann.lee@example.com"},
		{"type": "unsubscribe", "data[action]": "unsub", "data[reason]": "manual", "data[email]": "ann.lee@example.com"},
		{"type": "cleaned", "data[reason]": "hard", "data[email]": "ann.lee@example.com"},
	}
	got := rc.deliveries()
	if len(got) != len(want) {
		t.Fatalf("deliveries = %d, want %d", len(got), len(want))
	}
	for i, d := range got {
		form := verify(t, d, secret)
		for k, v := range want[i] {
			if form.Get(k) != v {
				t.Errorf("delivery %d (%s) %s = %q, want %q", i, form.Get("type"), k, form.Get(k), v)
			}
		}
		if typ := form.Get("type"); typ != "upemail" && typ != "cleaned" && len(form.Get("data[id]")) != 10 {
			t.Errorf("delivery %d data[id] = %q, want a 10-character short id", i, form.Get("data[id]"))
		}
	}
	if !strings.HasPrefix(string(got[0].body), "type=subscribe&fired_at=") || !strings.Contains(string(got[0].body), "data%5Bmerges%5D%5BFNAME%5D=Ann") {
		t.Errorf("first delivery body = %s, want PHP bracket keys in Mailchimp's order", got[0].body)
	}
	// The webhook without the api source gets only the user and admin events.
	var otherTypes []string
	for _, d := range other.deliveries() {
		form, _ := url.ParseQuery(string(d.body))
		otherTypes = append(otherTypes, form.Get("type"))
	}
	if strings.Join(otherTypes, ",") != "profile,unsubscribe,cleaned" {
		t.Errorf("deliveries without the api source = %v, want [profile unsubscribe cleaned]", otherTypes)
	}
	if st := e.srv.Stats(); st.WebhooksDelivered != 9 || st.WebhooksFailed != 0 {
		t.Errorf("Stats() = delivered %d failed %d, want 9 and 0", st.WebhooksDelivered, st.WebhooksFailed)
	}
}

func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name                      string
		failPosts                 int
		wantDelivered, wantFailed int
		wantRetries, wantReceived int
	}{
		{"recovers", 2, 1, 0, 2, 1},
		{"gives up", 10, 0, 1, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rc := newReceiver(t)
			e.register(t, rc, "/", map[string]bool{"api": true})
			rc.mu.Lock()
			rc.failPosts = tt.failPosts
			rc.mu.Unlock()
			e.run(t, []step{{name: "create", method: "PUT", path: e.memberPath("r@example.com"), wantCode: 200, body: map[string]any{"email_address": "r@example.com", "status_if_new": "subscribed"}}})
			if !e.srv.WaitWebhooks(5 * time.Second) {
				t.Fatal("WaitWebhooks(5s) = false, want every delivery done")
			}
			st := e.srv.Stats()
			if st.WebhooksDelivered != tt.wantDelivered || st.WebhooksFailed != tt.wantFailed || st.WebhookRetries != tt.wantRetries || len(rc.deliveries()) != tt.wantReceived {
				t.Errorf("Stats() = delivered %d failed %d retries %d, received %d; want %d %d %d, %d",
					st.WebhooksDelivered, st.WebhooksFailed, st.WebhookRetries, len(rc.deliveries()), tt.wantDelivered, tt.wantFailed, tt.wantRetries, tt.wantReceived)
			}
		})
	}
}

func TestSign(t *testing.T) {
	// A fixed vector computed outside Go (Python's hmac with sha256).
	got := Sign("secret", 1700000000, []byte("type=profile"))
	want := "t=1700000000,v1=63ffa6659dc65ce77eba988baf77de27837a20d135ca9fbc7b4e05bf8ea7f99f"
	if got != want {
		t.Errorf("Sign(secret, 1700000000, type=profile) = %s, want %s", got, want)
	}
}
