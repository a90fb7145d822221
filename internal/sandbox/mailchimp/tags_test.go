package mailchimp

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// tagNames reads the tag names of a member answer or a tags page.
func tagNames(v map[string]any) []string {
	var out []string
	list, _ := v["tags"].([]any)
	for _, x := range list {
		if tag, ok := x.(map[string]any); ok {
			out = append(out, tag["name"].(string))
		}
	}
	return out
}

func TestMemberTags(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	if resp, body := e.do("POST", "/3.0/lists/"+e.listID+"/webhooks", map[string]any{"url": rc.URL + "/hook/t", "events": map[string]bool{"subscribe": true, "profile": true}, "sources": map[string]bool{"api": true, "admin": true, "user": true}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("register webhook = %d %s", resp.StatusCode, body)
	}
	path := e.memberPath("ada@example.com")
	if resp, body := e.do("PUT", path, map[string]any{"email_address": "ada@example.com", "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "Ada", "LNAME": "Lovelace"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT member = %d %s", resp.StatusCode, body)
	}
	e.srv.WaitWebhooks(5 * time.Second)
	hooks := len(rc.deliveries())
	if hooks == 0 {
		t.Fatal("the member write sent no webhook: the receiver would not see one from tags either")
	}

	tags := func(list ...map[string]string) map[string]any {
		out := []map[string]string{}
		out = append(out, list...)
		return map[string]any{"tags": out}
	}
	steps := []struct {
		name string
		body any
		want int
		tags []string // the member's tags afterwards
	}{
		{"add two", tags(map[string]string{"name": "Gold", "status": "active"}, map[string]string{"name": "Booked: First Aid", "status": "active"}), http.StatusNoContent, []string{"Gold", "Booked: First Aid"}},
		{"adding again (any case) changes nothing", tags(map[string]string{"name": "gold", "status": "active"}), http.StatusNoContent, []string{"Gold", "Booked: First Aid"}},
		{"inactive removes", tags(map[string]string{"name": "booked: first aid", "status": "inactive"}), http.StatusNoContent, []string{"Gold"}},
		{"inactive unknown tag is no error", tags(map[string]string{"name": "Never", "status": "inactive"}), http.StatusNoContent, []string{"Gold"}},
		{"bad status", tags(map[string]string{"name": "X", "status": "on"}), http.StatusBadRequest, []string{"Gold"}},
		{"no tags", map[string]any{}, http.StatusBadRequest, []string{"Gold"}},
	}
	for _, st := range steps {
		resp, body := e.do("POST", path+"/tags", st.body)
		if resp.StatusCode != st.want {
			t.Fatalf("%s: POST tags = %d %s, want %d", st.name, resp.StatusCode, body, st.want)
		}
		_, body = e.do("GET", path, nil)
		m := decodeObject(t, body)
		if got := tagNames(m); !slices.Equal(got, st.tags) || m["tags_count"] != float64(len(st.tags)) {
			t.Errorf("%s: member tags %q (tags_count %v), want %q", st.name, got, m["tags_count"], st.tags)
		}
	}
	_, body := e.do("GET", path+"/tags", nil)
	if page := decodeObject(t, body); !slices.Equal(tagNames(page), []string{"Gold"}) || page["total_items"] != float64(1) {
		t.Errorf("GET tags = %s, want Gold, total_items 1", body)
	}
	if resp, _ := e.do("POST", e.memberPath("nobody@example.com")+"/tags", tags(map[string]string{"name": "X", "status": "active"})); resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST tags of an unknown member = %d, want 404", resp.StatusCode)
	}
	e.srv.WaitWebhooks(5 * time.Second)
	if got := len(rc.deliveries()); got != hooks {
		t.Errorf("tag changes sent %d webhooks, want none", got-hooks)
	}
	if err := e.srv.TagInUI(e.listID, "ada@example.com", "VIP", false); err != nil {
		t.Fatal(err)
	}
	if m, _ := e.srv.Member(e.listID, "ada@example.com"); !slices.Equal(m.Tags, []string{"Gold", "VIP"}) {
		t.Errorf("after TagInUI: tags %q, want [Gold VIP]", m.Tags)
	}
}

func TestMemberTagsPageAndBatch(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("POST", "/3.0/lists/"+e.listID, map[string]any{"members": []map[string]any{
		{"email_address": "ada@example.com", "status_if_new": "subscribed", "tags": []string{"Booked: First Aid", "Gold"}},
	}, "update_existing": true})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("batch subscribe = %d %s", resp.StatusCode, body)
	}
	created, _ := decodeObject(t, body)["new_members"].([]any)
	if len(created) != 1 || !slices.Equal(tagNames(created[0].(map[string]any)), []string{"Booked: First Aid", "Gold"}) {
		t.Fatalf("batch subscribe new_members = %v, want the member with its two tags", created)
	}

	// A member answer carries 50 tags; GET …/tags pages them all.
	var many []map[string]string
	for i := range 60 {
		many = append(many, map[string]string{"name": "T" + string(rune('A'+i/26)) + string(rune('a'+i%26)), "status": "active"})
	}
	path := e.memberPath("ada@example.com")
	if resp, body := e.do("POST", path+"/tags", map[string]any{"tags": many}); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST tags = %d %s", resp.StatusCode, body)
	}
	_, body = e.do("GET", path, nil)
	m := decodeObject(t, body)
	if n := len(tagNames(m)); n != 50 || m["tags_count"] != float64(62) {
		t.Errorf("member answer: %d tags, tags_count %v; want 50 and 62", n, m["tags_count"])
	}
	_, body = e.do("GET", path+"/tags?count=40&offset=40", nil)
	if page := decodeObject(t, body); len(tagNames(page)) != 22 || page["total_items"] != float64(62) {
		t.Errorf("second page: %d tags, total %v; want 22 of 62", len(tagNames(page)), page["total_items"])
	}
}

// A tag's date_added is when it was last added: adding it again while the
// member carries it keeps the date, taking it off and adding it again gives
// a new one; the tags answer's Date is the same clock.
func TestTagDateAdded(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(d)
	}
	srv := New(Options{Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	srv.AddAccount(testKey)
	e := &env{t: t, srv: srv, http: ts, listID: srv.AddList(testKey, "Sandbox audience")}
	e.validate = contractResponseValidator()
	path := e.memberPath("ada@example.com")
	if resp, body := e.do("PUT", path, map[string]any{"email_address": "ada@example.com", "status_if_new": "subscribed"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT member = %d %s", resp.StatusCode, body)
	}
	set := func(name, status string) string {
		t.Helper()
		resp, body := e.do("POST", path+"/tags", map[string]any{"tags": []map[string]string{{"name": name, "status": status}}})
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST tags %s %s = %d %s", name, status, resp.StatusCode, body)
		}
		return resp.Header.Get("Date")
	}
	added := func() string {
		t.Helper()
		_, body := e.do("GET", path+"/tags", nil)
		list, _ := decodeObject(t, body)["tags"].([]any)
		if len(list) != 1 {
			t.Fatalf("GET tags = %s, want one tag", body)
		}
		return list[0].(map[string]any)["date_added"].(string)
	}

	first := clock
	if date := set("Gold", "active"); date != first.Format(http.TimeFormat) {
		t.Errorf("POST tags Date = %q, want the simulator's clock %q", date, first.Format(http.TimeFormat))
	}
	if got, want := added(), first.Format("2006-01-02T15:04:05+00:00"); got != want {
		t.Errorf("date_added = %s, want %s", got, want)
	}
	advance(time.Hour)
	set("gold", "active")
	if err := srv.TagInUI(e.listID, "ada@example.com", "GOLD", false); err != nil {
		t.Fatal(err)
	}
	if got, want := added(), first.Format("2006-01-02T15:04:05+00:00"); got != want {
		t.Errorf("after adding it again: date_added = %s, want it kept: %s", got, want)
	}
	set("Gold", "inactive")
	advance(time.Hour)
	set("Gold", "active")
	if got, want := added(), clock.Format("2006-01-02T15:04:05+00:00"); got != want {
		t.Errorf("after taking it off and adding it again: date_added = %s, want %s", got, want)
	}
}

// A member the audience no longer holds (permanently deleted) has no tags:
// both tag calls answer 404 Resource Not Found, as for one never added or
// an audience that does not exist; an archived member is still a member.
func TestTagsOfAMemberNoLongerInTheAudience(t *testing.T) {
	e := newEnv(t)
	for _, email := range []string{"gone@example.com", "archived@example.com"} {
		if resp, body := e.do("PUT", e.memberPath(email), map[string]any{"email_address": email, "status_if_new": "subscribed"}); resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT %s = %d %s", email, resp.StatusCode, body)
		}
	}
	if err := e.srv.Forget(e.listID, "gone@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.UnsubscribeInUI(e.listID, "archived@example.com", "delete"); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"tags": []map[string]string{{"name": "Gold", "status": "active"}}}
	tests := []struct {
		name, path string
		want       int
	}{
		{"permanently deleted", e.memberPath("gone@example.com"), http.StatusNotFound},
		{"never added", e.memberPath("nobody@example.com"), http.StatusNotFound},
		{"unknown audience", "/3.0/lists/nope/members/" + SubscriberHash("archived@example.com"), http.StatusNotFound},
		{"archived", e.memberPath("archived@example.com"), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantPost := tt.want
			if wantPost == http.StatusOK {
				wantPost = http.StatusNoContent
			}
			resp, got := e.do("POST", tt.path+"/tags", body)
			if resp.StatusCode != wantPost {
				t.Errorf("POST tags = %d %s, want %d", resp.StatusCode, got, wantPost)
			}
			resp, got = e.do("GET", tt.path+"/tags", nil)
			if resp.StatusCode != tt.want {
				t.Errorf("GET tags = %d %s, want %d", resp.StatusCode, got, tt.want)
			}
			if tt.want == http.StatusNotFound {
				if p := decodeObject(t, got); p["title"] != "Resource Not Found" {
					t.Errorf("GET tags answer = %s, want the problem Resource Not Found", got)
				}
			}
		})
	}
}
