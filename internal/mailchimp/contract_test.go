package mailchimp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/google/go-cmp/cmp"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// specPath finds shared/contracts/mailchimp/openapi-subset.json: from
// APMC_SHARED_DIR when set, otherwise in a "shared" directory beside one of
// the package directory's ancestors (the repository checkout sits beside it).
func specPath(t *testing.T) string {
	t.Helper()
	const rel = "contracts/mailchimp/openapi-subset.json"
	if dir := os.Getenv("APMC_SHARED_DIR"); dir != "" {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("APMC_SHARED_DIR=%s has no %s: %v", dir, rel, err)
		}
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("Mailchimp OpenAPI subset not found: no shared/%s above the package; set APMC_SHARED_DIR to the shared directory", rel)
		}
		dir = parent
	}
}

// exchange is one request the fake API received and its answer.
type exchange struct {
	req  *http.Request // body re-readable through reqBody
	body []byte
	resp *httptest.ResponseRecorder
}

// recorder is a plausible Mailchimp API on 127.0.0.1 that keeps every
// exchange. It serves pages of at most two items, so paging is exercised.
type recorder struct {
	mu        sync.Mutex
	exchanges []exchange
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	out := httptest.NewRecorder()
	rec.answer(out, r, body)
	rec.mu.Lock()
	rec.exchanges = append(rec.exchanges, exchange{req: r.Clone(context.Background()), body: body, resp: out})
	rec.mu.Unlock()
	for k, v := range out.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(out.Code)
	_, _ = w.Write(out.Body.Bytes()) // the client under test sees a failed write as its own error
}

func (rec *recorder) answer(w http.ResponseWriter, r *http.Request, body []byte) {
	reply := func(v any) {
		raw, err := json.Marshal(v)
		if err != nil {
			http.Error(w, "encode the answer: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(raw) // w is an httptest.ResponseRecorder: writes cannot fail
	}
	// malformed answers a request body that is not JSON as Mailchimp does.
	malformed := func(err error) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"type":"t","title":"JSON Schema Validation Failed","status":400,"detail":%q,"instance":"x"}`, err.Error())
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/3.0/"), "/")
	page := func(total int) (int, int) {
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		count, _ := strconv.Atoi(r.URL.Query().Get("count"))
		end := min(offset+min(count, 2), total)
		return offset, max(end, offset)
	}
	member := func(email string, merges map[string]any) map[string]any {
		return map[string]any{"id": SubscriberHash(email), "email_address": email, "status": "subscribed", "list_id": parts[1], "merge_fields": merges}
	}
	switch {
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "ping":
		reply(map[string]any{"health_status": "Everything's Chimpy!"})
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "lists":
		var lists []map[string]any
		from, to := page(3)
		for i := from; i < to; i++ {
			lists = append(lists, map[string]any{"id": fmt.Sprintf("list%d", i), "name": fmt.Sprintf("Audience %d", i), "stats": map[string]any{"member_count": 10 * i}})
		}
		reply(map[string]any{"lists": lists, "total_items": 3})
	case r.Method == http.MethodGet && len(parts) == 3 && parts[2] == "merge-fields":
		all := []map[string]any{
			{"merge_id": 1, "tag": "FNAME", "name": "First Name", "type": "text", "required": true, "options": map[string]any{"size": 25}},
			{"merge_id": 2, "tag": "LNAME", "name": "Last Name", "type": "text", "required": false, "options": map[string]any{"size": 25}},
			{"merge_id": 3, "tag": "BIRTHDAY", "name": "Birthday", "type": "birthday", "required": false, "options": map[string]any{"date_format": "MM/DD"}},
		}
		from, to := page(len(all))
		reply(map[string]any{"merge_fields": all[from:to], "list_id": parts[1], "total_items": len(all)})
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "members":
		if parts[3] != SubscriberHash("known+tag@example.com") {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"type":"https://mailchimp.com/developer/marketing/docs/errors/","title":"Resource Not Found","status":404,"detail":"The requested resource could not be found.","instance":"1c7a9b1e-0000-4000-8000-000000000000"}`)
			return
		}
		reply(member("known+tag@example.com", map[string]any{"FNAME": "Zoë", "LNAME": "", "AGE": 42,
			"ADDRESS": map[string]any{"addr1": "1 Main St", "addr2": "", "city": "Atlanta", "state": "GA", "zip": "30308", "country": "US"}}))
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "lists":
		reply(map[string]any{"id": parts[1]})
	case r.Method == http.MethodPatch && len(parts) == 4 && parts[2] == "members" && parts[3] == SubscriberHash("gone@example.com"):
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"type":"https://mailchimp.com/developer/marketing/docs/errors/","title":"Resource Not Found","status":404,"detail":"The requested resource could not be found.","instance":"1c7a9b1e-0000-4000-8000-000000000000"}`)
	case (r.Method == http.MethodPut || r.Method == http.MethodPatch) && len(parts) == 4 && parts[2] == "members":
		var in struct {
			EmailAddress string         `json:"email_address"`
			MergeFields  map[string]any `json:"merge_fields"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			malformed(err)
			return
		}
		reply(member(in.EmailAddress, in.MergeFields))
	case r.Method == http.MethodPost && len(parts) == 2 && parts[0] == "lists":
		var in struct {
			Members []struct {
				EmailAddress string         `json:"email_address"`
				MergeFields  map[string]any `json:"merge_fields"`
			} `json:"members"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			malformed(err)
			return
		}
		// The first member is new, the second existed, the rest are refused.
		created, updated, errs := []any{}, []any{}, []any{}
		for i, m := range in.Members {
			switch i {
			case 0:
				created = append(created, member(m.EmailAddress, m.MergeFields))
			case 1:
				updated = append(updated, member(m.EmailAddress, m.MergeFields))
			default:
				errs = append(errs, map[string]any{"email_address": m.EmailAddress, "error": m.EmailAddress + " looks fake or invalid, please enter a real email address.", "error_code": "ERROR_GENERIC"})
			}
		}
		reply(map[string]any{"new_members": created, "updated_members": updated, "errors": errs,
			"total_created": len(created), "total_updated": len(updated), "error_count": len(errs)})
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "webhooks":
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			malformed(err)
			return
		}
		in["id"], in["list_id"], in["signing_secret"] = "5d9a5e3f7b", parts[1], "one-time-signing-secret"
		reply(in)
	case r.Method == http.MethodGet && len(parts) == 3 && parts[2] == "webhooks":
		reply(map[string]any{"list_id": parts[1], "total_items": 1, "webhooks": []map[string]any{{
			"id": "5d9a5e3f7b", "list_id": parts[1], "url": "https://example.com/hooks/mailchimp/tok",
			"events":  map[string]bool{"subscribe": true, "unsubscribe": true, "profile": true, "cleaned": true, "upemail": true, "campaign": false},
			"sources": map[string]bool{"user": true, "admin": true, "api": true},
		}}})
	default:
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprint(w, `{"type":"t","title":"Method Not Allowed","status":405,"detail":"unexpected call","instance":"x"}`)
	}
}

// TestContract drives every client method against the recording server and
// validates every request it sent (method, path, query, headers, body), and
// every answer the fake gave, against Mailchimp's published OpenAPI subset.
//
// The document's paths carry the /3.0 prefix while its servers (the bare
// https://{dc}.api.mailchimp.com) have no base path, so the validator matches
// a request's path as-is: the client's base URL is the test server's URL plus
// /3.0, and the requests arrive at /3.0/... exactly as they would at
// Mailchimp. Servers are not matched strictly, so the 127.0.0.1 host is fine.
//
// Authentication is not really held to the document here: it declares
// bearer or OAuth 2 (Mailchimp also takes HTTP basic, see the contracts
// README), and the validator counts an OAuth 2 requirement as met by any
// request. TestAuthHeader checks the headers instead.
func TestContract(t *testing.T) {
	v := specValidator(t)

	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := New(testKey, WithBaseURL(srv.URL+"/3.0"))
	if err != nil {
		t.Fatal(err)
	}
	exerciseClient(t, c)

	if len(rec.exchanges) < 12 {
		t.Fatalf("recorded %d requests, want at least 12", len(rec.exchanges))
	}
	for _, x := range rec.exchanges {
		name := x.req.Method + " " + x.req.URL.RequestURI()
		req, err := http.NewRequest(x.req.Method, srv.URL+x.req.URL.RequestURI(), bytes.NewReader(x.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = x.req.Header.Clone()
		if ok, verrs := v.ValidateHttpRequestSync(req); !ok {
			for _, e := range verrs {
				t.Errorf("request %s does not match the spec: %s", name, e.Error())
			}
		}
		req.Body = io.NopCloser(bytes.NewReader(x.body))
		if ok, verrs := v.ValidateHttpResponse(req, x.resp.Result()); !ok {
			for _, e := range verrs {
				t.Errorf("fake answer to %s does not match the spec: %s", name, e.Error())
			}
		}
	}
}

func specValidator(t *testing.T) validator.Validator {
	t.Helper()
	spec, err := os.ReadFile(specPath(t))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("build validator: %v", errs)
	}
	return v
}

// TestContractValidatorRejects shows the validation above can fail: requests
// the client must never send are refused by the same validator.
func TestContractValidatorRejects(t *testing.T) {
	v := specValidator(t)
	member := "http://127.0.0.1:1/3.0/lists/list1/members/" + SubscriberHash("a@b.co")
	tests := []struct {
		name, method, url, body string
	}{
		{"status and status_if_new together", http.MethodPut, member, `{"email_address":"a@b.co","status":"subscribed","status_if_new":"subscribed"}`},
		{"neither status", http.MethodPut, member, `{"email_address":"a@b.co"}`},
		{"bad status_if_new", http.MethodPut, member, `{"email_address":"a@b.co","status_if_new":"active"}`},
		{"path without the /3.0 prefix", http.MethodGet, "http://127.0.0.1:1/lists/list1/members/x", ""},
		{"count not a number", http.MethodGet, "http://127.0.0.1:1/3.0/lists?count=many", ""},
		{"batch member with neither status", http.MethodPost, "http://127.0.0.1:1/3.0/lists/list1", `{"members":[{"email_address":"a@b.co"}],"update_existing":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("Authorization", "Bearer "+testKey)
			if ok, _ := v.ValidateHttpRequestSync(req); ok {
				t.Errorf("ValidateHttpRequestSync(%s %s %s) = true, want false", tt.method, tt.url, tt.body)
			}
		})
	}
}

// exerciseClient calls every method once and checks what it returns.
func exerciseClient(t *testing.T, c *Client) {
	t.Helper()
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Errorf("Ping() = %v, want nil", err)
	}

	lists, err := c.Lists(ctx)
	wantLists := []List{{"list0", "Audience 0", 0}, {"list1", "Audience 1", 10}, {"list2", "Audience 2", 20}}
	if err != nil || !cmp.Equal(lists, wantLists) {
		t.Errorf("Lists() = %v, %v; want %v, nil", lists, err, wantLists)
	}

	fields, err := c.MergeFields(ctx, "list1")
	wantFields := []MergeField{
		{Tag: "FNAME", Name: "First Name", Type: "text", Required: true, Options: MergeFieldOptions{Size: 25}},
		{Tag: "LNAME", Name: "Last Name", Type: "text", Options: MergeFieldOptions{Size: 25}},
		{Tag: "BIRTHDAY", Name: "Birthday", Type: "birthday", Options: MergeFieldOptions{DateFormat: "MM/DD"}},
	}
	if err != nil {
		t.Errorf("MergeFields() error = %v", err)
	} else if diff := cmp.Diff(wantFields, fields); diff != "" {
		t.Errorf("MergeFields() mismatch (-want +got):\n%s", diff)
	}

	m, err := c.Member(ctx, "list1", "Known+Tag@Example.com")
	wantMember := apmc.Member{ID: SubscriberHash("known+tag@example.com"), Email: "known+tag@example.com", Status: "subscribed",
		MergeFields: apmc.Values{"EMAIL": "known+tag@example.com", "FNAME": "Zoë", "AGE": "42", "ADDRESS": "1 Main St  Atlanta  GA  30308  US"}}
	if err != nil {
		t.Errorf("Member(known) error = %v", err)
	} else if diff := cmp.Diff(wantMember, m); diff != "" {
		t.Errorf("Member(known) mismatch (-want +got):\n%s", diff)
	}
	if _, err := c.Member(ctx, "list1", "nobody@example.com"); !errors.Is(err, apmc.ErrNotFound) {
		t.Errorf("Member(unknown) error = %v, want one wrapping apmc.ErrNotFound", err)
	}

	up, err := c.UpsertMember(ctx, "list1", apmc.Member{Email: "New+Person@Example.com", Status: "unsubscribed",
		MergeFields: apmc.Values{"EMAIL": "new+person@example.com", "FNAME": "Ada", "LNAME": "Lovelace"}}, "pending")
	wantUp := apmc.Member{ID: SubscriberHash("new+person@example.com"), Email: "new+person@example.com", Status: "subscribed",
		MergeFields: apmc.Values{"EMAIL": "new+person@example.com", "FNAME": "Ada", "LNAME": "Lovelace"}}
	if err != nil {
		t.Errorf("UpsertMember() error = %v", err)
	} else if diff := cmp.Diff(wantUp, up); diff != "" {
		t.Errorf("UpsertMember() mismatch (-want +got):\n%s", diff)
	}

	batch, err := c.BatchSubscribe(ctx, "list1", []apmc.Member{
		{Email: "First@Example.com", Status: "unsubscribed", MergeFields: apmc.Values{"FNAME": "First"}},
		{MergeFields: apmc.Values{"EMAIL": "second@example.com", "LNAME": "Second"}},
		{Email: "third@example.com"},
	}, "subscribed")
	wantBatch := BatchResult{
		Created: []apmc.Member{{ID: SubscriberHash("first@example.com"), Email: "first@example.com", Status: "subscribed", MergeFields: apmc.Values{"EMAIL": "first@example.com", "FNAME": "First"}}},
		Updated: []apmc.Member{{ID: SubscriberHash("second@example.com"), Email: "second@example.com", Status: "subscribed", MergeFields: apmc.Values{"EMAIL": "second@example.com", "LNAME": "Second"}}},
		Errors:  map[string]BatchError{"third@example.com": {Code: "ERROR_GENERIC", Message: "third@example.com looks fake or invalid, please enter a real email address."}},
	}
	if err != nil {
		t.Errorf("BatchSubscribe() error = %v", err)
	} else if diff := cmp.Diff(wantBatch, batch); diff != "" {
		t.Errorf("BatchSubscribe() mismatch (-want +got):\n%s", diff)
	}

	moved, err := c.ChangeEmail(ctx, "list1", "Old@Example.com", "New@Example.com")
	if err != nil || moved.Email != "new@example.com" {
		t.Errorf("ChangeEmail() = %+v, %v; want email new@example.com, nil", moved, err)
	}

	// A member no longer in the audience: its 404, then the audience read
	// that tells it from a missing audience.
	if _, err := c.Unsubscribe(ctx, "list1", "gone@example.com"); !errors.Is(err, apmc.ErrNotFound) {
		t.Errorf("Unsubscribe(a deleted member) error = %v, want one wrapping apmc.ErrNotFound", err)
	} else if _, blocked := apmc.BlockedReason(err); !blocked {
		t.Errorf("Unsubscribe(a deleted member) error = %v, want a blocked contact", err)
	}

	hook := Webhook{URL: "https://example.com/hooks/mailchimp/tok",
		Events:  WebhookEvents{Subscribe: true, Unsubscribe: true, Profile: true, Cleaned: true, UpEmail: true},
		Sources: WebhookSources{User: true, Admin: true, API: true}}
	created, err := c.CreateWebhook(ctx, "list1", hook)
	if err != nil || created.ID != "5d9a5e3f7b" || created.SigningSecret != "one-time-signing-secret" {
		t.Errorf("CreateWebhook() = %+v (secret %q), %v; want id 5d9a5e3f7b and the signing secret", created, created.SigningSecret, err)
	}
	if s := fmt.Sprintf("%v %+v %#v", created, created, created); strings.Contains(s, "one-time-signing-secret") {
		t.Errorf("formatted webhook %q shows the signing secret", s)
	}
	hooks, err := c.Webhooks(ctx, "list1")
	if err != nil || len(hooks) != 1 || hooks[0].Sources != hook.Sources || hooks[0].Events.Campaign {
		t.Errorf("Webhooks() = %+v, %v; want the one registered webhook", hooks, err)
	}
}

// TestRequestBodies pins what the upsert, batch subscribe, email change and
// webhook registration send: the schema allows more than the service means to.
func TestRequestBodies(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := New(testKey, WithBaseURL(srv.URL+"/3.0"))
	if err != nil {
		t.Fatal(err)
	}
	exerciseClient(t, c)

	want := map[string]map[string]any{
		"PUT /3.0/lists/list1/members/" + SubscriberHash("new+person@example.com"): {
			"email_address": "new+person@example.com", "status_if_new": "pending",
			"merge_fields": map[string]any{"FNAME": "Ada", "LNAME": "Lovelace"},
		},
		"PATCH /3.0/lists/list1/members/" + SubscriberHash("old@example.com"):  {"email_address": "new@example.com"},
		"PATCH /3.0/lists/list1/members/" + SubscriberHash("gone@example.com"): {"status": "unsubscribed"},
		"POST /3.0/lists/list1": {"update_existing": true, "members": []any{
			map[string]any{"email_address": "first@example.com", "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "First"}},
			map[string]any{"email_address": "second@example.com", "status_if_new": "subscribed", "merge_fields": map[string]any{"LNAME": "Second"}},
			map[string]any{"email_address": "third@example.com", "status_if_new": "subscribed"},
		}},
		"POST /3.0/lists/list1/webhooks": {
			"url":     "https://example.com/hooks/mailchimp/tok",
			"events":  map[string]any{"subscribe": true, "unsubscribe": true, "profile": true, "cleaned": true, "upemail": true, "campaign": false},
			"sources": map[string]any{"user": true, "admin": true, "api": true},
		},
	}
	got := map[string]map[string]any{}
	for _, x := range rec.exchanges {
		if len(x.body) == 0 {
			continue
		}
		var b map[string]any
		if err := json.Unmarshal(x.body, &b); err != nil {
			t.Fatalf("body of %s %s is not JSON: %v", x.req.Method, x.req.URL.Path, err)
		}
		got[x.req.Method+" "+x.req.URL.Path] = b
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request bodies mismatch (-want +got):\n%s", diff)
	}
}
