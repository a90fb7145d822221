package ingest_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestDeduplicationByContent checks that only a byte-identical delivery is
// taken for a duplicate (and only one carrying its change time, see
// TestDeduplicationByChangeTime): a forged delivery sent first with the
// same user, event, delivery id or fired_at as a genuine one must not make
// the genuine one, whose content differs, be dropped by the queue.
func TestDeduplicationByContent(t *testing.T) {
	tests := []struct {
		name        string
		path        func(ep *endpoint) string
		method      string
		contentType string
		wantStatus  int
		first       string // sent first (the forgery)
		second      string // sent next (the genuine delivery)
		wantQueued  int
	}{
		{
			name: "accessplanit, same delivery id and user, other content", method: http.MethodPut,
			path: func(ep *endpoint) string { return ep.apPath(plainID) }, contentType: "application/json", wantStatus: http.StatusAccepted,
			first:      `{"Id":99812,"Module":"User","Data":{"ID":1042,"Email":"attacker@example.com"}}`,
			second:     `{"Id":99812,"Module":"User","Data":{"ID":1042,"Email":"ada@example.com"}}`,
			wantQueued: 2,
		},
		{
			name: "accessplanit, same user, other fields", method: http.MethodPut,
			path: func(ep *endpoint) string { return ep.apPath(plainID) }, contentType: "application/json", wantStatus: http.StatusAccepted,
			first:      wholeUser("Mallory"),
			second:     wholeUser("Grace"),
			wantQueued: 2,
		},
		{
			name: "accessplanit, the same body with its DateUpdated twice", method: http.MethodPut,
			path: func(ep *endpoint) string { return ep.apPath(plainID) }, contentType: "application/json", wantStatus: http.StatusAccepted,
			first:      wholeUser("Grace"),
			second:     wholeUser("Grace"),
			wantQueued: 1,
		},
		{
			name: "mailchimp, same member and fired_at, other reason", method: http.MethodPost,
			path: func(ep *endpoint) string { return ep.mcPath(plainID) }, contentType: formType, wantStatus: http.StatusOK,
			first:      "type=unsubscribe&fired_at=2026-03-04+10:00:00&data[id]=abc&data[email]=ada@example.com&data[reason]=abuse&data[action]=delete",
			second:     "type=unsubscribe&fired_at=2026-03-04+10:00:00&data[id]=abc&data[email]=ada@example.com&data[reason]=manual&data[action]=unsub",
			wantQueued: 2,
		},
		{
			name: "mailchimp, the same body twice", method: http.MethodPost,
			path: func(ep *endpoint) string { return ep.mcPath(plainID) }, contentType: formType, wantStatus: http.StatusOK,
			first:      "type=profile&fired_at=2026-03-04+10:00:00&data[id]=abc&data[email]=ada@example.com&data[merges][FNAME]=Ada&data[merges][LNAME]=L",
			second:     "type=profile&fired_at=2026-03-04+10:00:00&data[id]=abc&data[email]=ada@example.com&data[merges][FNAME]=Ada&data[merges][LNAME]=L",
			wantQueued: 1,
		},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := e.start(t)
			ids := map[string]bool{}
			for _, body := range []string{tt.first, tt.second} {
				a := ep.send(t, tt.method, tt.path(ep), tt.contentType, strings.NewReader(body), nil)
				checkAnswer(t, a, tt.wantStatus, "")
				ids[a.text("change_id")] = true
			}
			checkQueued(t, ep, ids, tt.wantQueued)
		})
	}
}

// TestDeduplicationByChangeTime checks which repeated accessplanit bodies
// the queue takes for one delivery. A body carrying the record's change time
// (DateUpdated, to the second or finer) identifies one change: sent twice it
// is a retry, queued once. A body without one says only which record may
// have changed (a booking set Cancelled, then Booked again, gives the same
// {"ID":"1001~2"} twice): each delivery of it is queued, so the later change
// is read too. kumo forgets a deduplication id once its message is deleted
// (SQS keeps it for 5 minutes), so both deliveries are sent before the
// queue is read.
func TestDeduplicationByChangeTime(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantQueued int
	}{
		{name: "delegate, ID only", body: `{"ID":"1001~2"}`, wantQueued: 2},
		{name: "delegate in a module wrapper, no change time", body: apSample(t, "delegate-module-wrapper.json"), wantQueued: 2},
		{name: "user, ID only", body: apSample(t, "id-only.json"), wantQueued: 2},
		{name: "user, email only", body: apSample(t, "email-only.json"), wantQueued: 2},
		{name: "user in a wrapper with a delivery id, no change time", body: apSample(t, "wrapper-data.json"), wantQueued: 2},
		{name: "user, DateUpdated a date without a time of day", body: `{"ID":1042,"DateUpdated":"2026-03-04"}`, wantQueued: 2},
		{name: "user, DateUpdated not a date", body: `{"ID":1042,"DateUpdated":"yesterday"}`, wantQueued: 2},
		{name: "delegate with DateUpdated", body: apSample(t, "delegate.json"), wantQueued: 1},
		{name: "delegate ID with DateUpdated", body: `{"ID":"1001~2","DateUpdated":"2026-03-04T10:11:12"}`, wantQueued: 1},
		{name: "user ID with DateUpdated", body: `{"ID":1042,"DateUpdated":"2026-03-04T10:11:12.345+01:00"}`, wantQueued: 1},
		{name: "whole user", body: apSample(t, "bare-user.json"), wantQueued: 1},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := e.start(t)
			ids := map[string]bool{}
			for range 2 {
				a := ep.send(t, http.MethodPut, ep.apPath(plainID), "application/json", strings.NewReader(tt.body), nil)
				checkAnswer(t, a, http.StatusAccepted, "")
				if id := a.text("change_id"); !strings.HasPrefix(id, "sha256:") {
					t.Errorf("change id %q, want a sha256: id", id)
				}
				ids[a.text("change_id")] = true
			}
			checkQueued(t, ep, ids, tt.wantQueued)
		})
	}
}

// checkQueued checks that the deliveries answered with the change ids ids
// queued want messages, each with one of those ids and its own dedup id.
func checkQueued(t *testing.T, ep *endpoint, ids map[string]bool, want int) {
	t.Helper()
	if len(ids) != want {
		t.Errorf("the deliveries got %d distinct change ids, want %d", len(ids), want)
	}
	q := ep.drain(t)
	if len(q) != want {
		t.Fatalf("%d messages queued, want %d: %+v", len(q), want, q)
	}
	if want == 2 && q[0].dedupID == q[1].dedupID {
		t.Errorf("both messages have the dedup id %s", q[0].dedupID)
	}
	for _, m := range q {
		if !ids[m.change.ID] {
			t.Errorf("queued change id %q is not one the endpoint answered", m.change.ID)
		}
		if n := len(m.dedupID); n == 0 || n > 128 {
			t.Errorf("dedup id %q has %d characters, want 1 to 128", m.dedupID, n)
		}
	}
}

// TestDeduplicationPerInstanceAndMethod checks that the same body sent to
// two instances, or with another method (another event), is another change.
func TestDeduplicationPerInstanceAndMethod(t *testing.T) {
	e := newEnv(t)
	ep := e.start(t)
	body := wholeUser("Grace")
	for _, send := range []struct{ method, id string }{
		{http.MethodPut, plainID}, {http.MethodPut, pausedID}, {http.MethodDelete, plainID}, {http.MethodPut, plainID},
	} {
		a := ep.send(t, send.method, ep.apPath(send.id), "application/json", strings.NewReader(body), nil)
		checkAnswer(t, a, http.StatusAccepted, "")
	}
	if q := ep.drain(t); len(q) != 3 {
		t.Errorf("%d messages queued, want 3 (one per instance and method)", len(q))
	}
}

// TestKeyLimits checks that emails and user ids DynamoDB could not store as
// keys, and user ids that are not accessplanit User IDs, are refused with a
// 400 naming the field, and nothing is queued.
func TestKeyLimits(t *testing.T) {
	e := newEnv(t)
	ep := e.start(t)
	longEmail := strings.Repeat("a", 1100) + "@example.com"
	okEmail := strings.Repeat("a", 900) + "@example.com"
	longUser := strings.Repeat("7", 2100)
	tests := []struct {
		name, method, path, contentType, body string
		wantStatus                            int
		wantError                             string
	}{
		{"accessplanit email over 1,024 bytes", http.MethodPut, ep.apPath(plainID), "application/json", `{"ID":1,"Email":"` + longEmail + `"}`, http.StatusBadRequest, "email has 1112 bytes"},
		{"accessplanit user id over 2,048 bytes", http.MethodPut, ep.apPath(plainID), "application/json", `{"ID":"` + longUser + `"}`, http.StatusBadRequest, "user id has 2100 bytes"},
		{"accessplanit user id of 65 characters", http.MethodPut, ep.apPath(plainID), "application/json", `{"ID":"` + strings.Repeat("7", 65) + `"}`, http.StatusBadRequest, "is not an accessplanit User ID"},
		{"accessplanit user id with a quote", http.MethodPut, ep.apPath(plainID), "application/json", `{"ID":"10'42","Email":"ada@example.com"}`, http.StatusBadRequest, `user id "10'42" is not an accessplanit User ID`},
		{"accessplanit user id with spaces", http.MethodPost, ep.apPath(plainID), "application/json", `{"Data":{"ID":"10 42"}}`, http.StatusBadRequest, "is not an accessplanit User ID"},
		{"accessplanit user id with a filter", http.MethodPut, ep.apPath(plainID), "application/json", `{"ID":"1' or ID ne '0"}`, http.StatusBadRequest, "is not an accessplanit User ID"},
		{"accessplanit user id of 64 characters", http.MethodPut, ep.apPath(plainID), "application/json", `{"ID":"` + strings.Repeat("7", 64) + `"}`, http.StatusAccepted, ""},
		{"accessplanit email of 912 bytes", http.MethodPut, ep.apPath(plainID), "application/json", `{"ID":1,"Email":"` + okEmail + `"}`, http.StatusAccepted, ""},
		{"mailchimp email over 1,024 bytes", http.MethodPost, ep.mcPath(plainID), formType, "type=subscribe&fired_at=2026-03-04+10:00:00&data[email]=" + longEmail, http.StatusBadRequest, "email"},
		{"mailchimp new email over 1,024 bytes", http.MethodPost, ep.mcPath(plainID), formType, "type=upemail&fired_at=2026-03-04+10:00:00&data[old_email]=a@example.com&data[new_email]=" + longEmail, http.StatusBadRequest, "new_email"},
	}
	want := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ep.send(t, tt.method, tt.path, tt.contentType, strings.NewReader(tt.body), nil)
			checkAnswer(t, a, tt.wantStatus, tt.wantError)
		})
		if tt.wantStatus < 300 {
			want++
		}
	}
	if q := ep.drain(t); len(q) != want {
		t.Errorf("%d messages queued, want %d", len(q), want)
	}
}
