package mailchimp

import (
	"net/http"
	"testing"
)

// step is one API call of a scenario and what it must answer.
type step struct {
	name       string
	method     string
	path       string
	body       any
	wantCode   int
	wantTitle  string         // for errors
	wantFields map[string]any // for 200: top-level fields of the answer
	wantMerges map[string]any // for 200: merge_fields entries
}

// run plays steps in order against e.
func (e *env) run(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		resp, body := e.do(s.method, s.path, s.body)
		if resp.StatusCode != s.wantCode {
			t.Fatalf("%s: %s %s = %d %s, want %d", s.name, s.method, s.path, resp.StatusCode, body, s.wantCode)
		}
		if s.wantCode != http.StatusOK {
			if p := decodeProblem(t, resp, body); s.wantTitle != "" && p.Title != s.wantTitle {
				t.Errorf("%s: %s %s title = %q, want %q", s.name, s.method, s.path, p.Title, s.wantTitle)
			}
			continue
		}
		v := decodeObject(t, body)
		for k, want := range s.wantFields {
			if v[k] != want {
				t.Errorf("%s: %s %s %s = %v, want %v", s.name, s.method, s.path, k, v[k], want)
			}
		}
		merges, _ := v["merge_fields"].(map[string]any)
		for k, want := range s.wantMerges {
			if merges[k] != want {
				t.Errorf("%s: %s %s merge_fields[%s] = %v, want %v", s.name, s.method, s.path, k, merges[k], want)
			}
		}
	}
}

func TestUpsertSemantics(t *testing.T) {
	const ann = "Ann@Example.com"
	tests := []struct {
		name  string
		steps func(e *env) []step
	}{
		{"create with status_if_new", func(e *env) []step {
			return []step{
				{name: "put", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "Ann"}},
					wantCode: 200, wantFields: map[string]any{"status": "subscribed", "email_address": ann, "id": SubscriberHash(ann)}, wantMerges: map[string]any{"FNAME": "Ann", "LNAME": ""}},
				{name: "get by hash", method: "GET", path: e.memberPath(ann), wantCode: 200, wantFields: map[string]any{"status": "subscribed"}},
				{name: "get by email", method: "GET", path: "/3.0/lists/" + e.listID + "/members/ann@example.com", wantCode: 200, wantFields: map[string]any{"email_address": ann}},
			}
		}},
		{"status_if_new never changes an existing member", func(e *env) []step {
			return []step{
				{name: "create unsubscribed", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status_if_new": "unsubscribed"}, wantCode: 200, wantFields: map[string]any{"status": "unsubscribed"}},
				{name: "upsert subscribed if new", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status_if_new": "subscribed", "merge_fields": map[string]any{"LNAME": "Lee"}},
					wantCode: 200, wantFields: map[string]any{"status": "unsubscribed"}, wantMerges: map[string]any{"LNAME": "Lee"}},
			}
		}},
		{"status changes an existing member", func(e *env) []step {
			return []step{
				{name: "create", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status_if_new": "subscribed"}, wantCode: 200},
				{name: "put status", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status": "unsubscribed"}, wantCode: 200, wantFields: map[string]any{"status": "unsubscribed"}},
				{name: "patch status pending", method: "PATCH", path: e.memberPath(ann), body: map[string]any{"status": "pending"}, wantCode: 200, wantFields: map[string]any{"status": "pending"}},
				{name: "patch status subscribed", method: "PATCH", path: e.memberPath(ann), body: map[string]any{"status": "subscribed"}, wantCode: 200, wantFields: map[string]any{"status": "subscribed"}},
			}
		}},
		{"re-subscribing an unsubscribed member is refused", func(e *env) []step {
			return []step{
				{name: "create unsubscribed", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status_if_new": "unsubscribed"}, wantCode: 200},
				{name: "put status subscribed", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status": "subscribed"}, wantCode: 400, wantTitle: "Member In Compliance State"},
				{name: "patch status subscribed", method: "PATCH", path: e.memberPath(ann), body: map[string]any{"status": "subscribed"}, wantCode: 400, wantTitle: "Member In Compliance State"},
				{name: "still unsubscribed", method: "GET", path: e.memberPath(ann), wantCode: 200, wantFields: map[string]any{"status": "unsubscribed"}},
				{name: "fields still written", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "Ann"}},
					wantCode: 200, wantFields: map[string]any{"status": "unsubscribed"}, wantMerges: map[string]any{"FNAME": "Ann"}},
			}
		}},
		{"re-subscribing a cleaned member is refused", func(e *env) []step {
			return []step{
				{name: "create cleaned", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status_if_new": "cleaned"}, wantCode: 200},
				{name: "patch status subscribed", method: "PATCH", path: e.memberPath(ann), body: map[string]any{"status": "subscribed"}, wantCode: 400, wantTitle: "Member In Compliance State"},
				{name: "still cleaned", method: "GET", path: e.memberPath(ann), wantCode: 200, wantFields: map[string]any{"status": "cleaned"}},
			}
		}},
		{"status_if_new leaves an archived member archived", func(e *env) []step {
			if err := e.srv.Import(e.listID, []ImportedMember{{EmailAddress: ann, Status: "archived"}}); err != nil {
				e.t.Fatal(err)
			}
			return []step{
				{name: "upsert", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "Ann"}},
					wantCode: 200, wantFields: map[string]any{"status": "archived"}, wantMerges: map[string]any{"FNAME": "Ann"}},
				{name: "unarchive with a status", method: "PATCH", path: e.memberPath(ann), body: map[string]any{"status": "subscribed"}, wantCode: 200, wantFields: map[string]any{"status": "subscribed"}},
			}
		}},
		{"new member needs a status", func(e *env) []step {
			return []step{{name: "put", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann}, wantCode: 400, wantTitle: "Invalid Resource"}}
		}},
		{"body email must match the hash", func(e *env) []step {
			return []step{{name: "put", method: "PUT", path: e.memberPath("bob@example.com"), body: map[string]any{"email_address": ann, "status_if_new": "subscribed"}, wantCode: 400, wantTitle: "Invalid Resource"}}
		}},
		{"invalid status", func(e *env) []step {
			return []step{{name: "put", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status_if_new": "happy"}, wantCode: 400, wantTitle: "Invalid Resource"}}
		}},
		{"malformed JSON", func(e *env) []step {
			return []step{{name: "put", method: "PUT", path: e.memberPath(ann), body: "not an object", wantCode: 400, wantTitle: "JSON Parse Exception"}}
		}},
		{"patch of a missing member", func(e *env) []step {
			return []step{{name: "patch", method: "PATCH", path: e.memberPath(ann), body: map[string]any{"status": "subscribed"}, wantCode: 404, wantTitle: "Resource Not Found"}}
		}},
		{"unknown audience", func(e *env) []step {
			return []step{{name: "get", method: "GET", path: "/3.0/lists/nope/members/" + SubscriberHash(ann), wantCode: 404, wantTitle: "Resource Not Found"}}
		}},
		{"patch moves a member to its new email", func(e *env) []step {
			return []step{
				{name: "create", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "Ann"}}, wantCode: 200},
				{name: "change email", method: "PATCH", path: e.memberPath(ann), body: map[string]any{"email_address": "ann.lee@example.com"},
					wantCode: 200, wantFields: map[string]any{"email_address": "ann.lee@example.com", "id": SubscriberHash("ann.lee@example.com"), "status": "subscribed"}, wantMerges: map[string]any{"FNAME": "Ann"}},
				{name: "old hash gone", method: "GET", path: e.memberPath(ann), wantCode: 404},
				{name: "new hash there", method: "GET", path: e.memberPath("ann.lee@example.com"), wantCode: 200},
			}
		}},
		{"patch to an email already in the audience", func(e *env) []step {
			return []step{
				{name: "create ann", method: "PUT", path: e.memberPath(ann), body: map[string]any{"email_address": ann, "status_if_new": "subscribed"}, wantCode: 200},
				{name: "create bob", method: "PUT", path: e.memberPath("bob@example.com"), body: map[string]any{"email_address": "bob@example.com", "status_if_new": "subscribed"}, wantCode: 200},
				{name: "change ann to bob", method: "PATCH", path: e.memberPath(ann), body: map[string]any{"email_address": "bob@example.com"}, wantCode: 400, wantTitle: "Member Exists"},
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.run(t, tt.steps(e))
		})
	}
}

func TestBatchSubscribe(t *testing.T) {
	e := newEnv(t)
	e.run(t, []step{{name: "seed", method: "PUT", path: e.memberPath("old@example.com"), body: map[string]any{"email_address": "old@example.com", "status_if_new": "subscribed"}, wantCode: 200}})
	members := []map[string]any{
		{"email_address": "new@example.com", "status": "subscribed"},
		{"email_address": "old@example.com", "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "Old"}},
		{"email_address": "nobody", "status": "subscribed"},
	}
	tests := []struct {
		updateExisting                 bool
		wantCreated, wantUpdated, errs float64
	}{
		{false, 1, 0, 2},
		{true, 0, 2, 1}, // new@ was created by the first call
	}
	for _, tt := range tests {
		resp, body := e.do("POST", "/3.0/lists/"+e.listID, map[string]any{"members": members, "update_existing": tt.updateExisting})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /lists/{id} update_existing=%v = %d %s, want 200", tt.updateExisting, resp.StatusCode, body)
		}
		v := decodeObject(t, body)
		if v["total_created"] != tt.wantCreated || v["total_updated"] != tt.wantUpdated || v["error_count"] != tt.errs {
			t.Errorf("POST /lists/{id} update_existing=%v = created %v updated %v errors %v, want %v %v %v",
				tt.updateExisting, v["total_created"], v["total_updated"], v["error_count"], tt.wantCreated, tt.wantUpdated, tt.errs)
		}
	}
	if m, _ := e.srv.Member(e.listID, "old@example.com"); m.MergeFields["FNAME"] != "Old" {
		t.Errorf("Member(old).FNAME = %v, want Old", m.MergeFields["FNAME"])
	}
	tooMany := make([]map[string]any, maxBatchMembers+1)
	for i := range tooMany {
		tooMany[i] = map[string]any{"email_address": "x@example.com", "status": "subscribed"}
	}
	e.run(t, []step{{name: "501 members", method: "POST", path: "/3.0/lists/" + e.listID, body: map[string]any{"members": tooMany}, wantCode: 400, wantTitle: "Invalid Resource"}})
}

func TestMergeFieldsEndpoint(t *testing.T) {
	e := newEnv(t, MergeField{Tag: "BIRTHDAY", Name: "Birthday", Type: "birthday"})
	_, body := e.do("GET", "/3.0/lists/"+e.listID+"/merge-fields", nil)
	v := decodeObject(t, body)
	var tags []string
	for _, f := range v["merge_fields"].([]any) {
		tags = append(tags, f.(map[string]any)["tag"].(string)+":"+f.(map[string]any)["type"].(string))
	}
	want := []string{"FNAME:text", "LNAME:text", "ADDRESS:address", "PHONE:phone", "BIRTHDAY:birthday"}
	if len(tags) != len(want) {
		t.Fatalf("GET merge-fields = %v, want %v", tags, want)
	}
	for i := range want {
		if tags[i] != want[i] {
			t.Errorf("GET merge-fields[%d] = %s, want %s", i, tags[i], want[i])
		}
	}
}
