package accessplanit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	apsim "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	"github.com/google/go-cmp/cmp"
)

const key = "sim-key-123456"

type env struct {
	sim     *apsim.Server
	base    string
	company string
}

func start(t *testing.T) env {
	t.Helper()
	sim := apsim.New(apsim.Options{CustomFields: []string{"CF_Region"}, WebhookBackoff: 5 * time.Millisecond})
	t.Cleanup(sim.Close)
	sim.AddAPIKey(key, "77")
	company := sim.AddCompany("Acme")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return env{sim: sim, base: srv.URL, company: company}
}

// call sends a request to the emulated API and decodes the JSON answer.
func (e env) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.base+e.sim.Prefix()+path, r)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestCreateValidation(t *testing.T) {
	e := start(t)
	long := func(n int) string { return string(bytes.Repeat([]byte("x"), n)) }
	tests := []struct {
		name   string
		body   map[string]any
		status int
		errs   []string
	}{
		{name: "ok", body: map[string]any{"Forenames": "Ada", "Surname": "L", "MainCompanyID": e.company}, status: 201},
		{name: "limits ok", body: map[string]any{"Forenames": long(50), "Surname": long(40), "Email": long(80), "MainCompanyID": 1}, status: 201},
		{name: "missing names and company", body: map[string]any{"Email": "a@b.c"}, status: 400,
			errs: []string{"Forenames is required.", "Surname is required.", "MainCompanyID is required."}},
		{name: "too long", body: map[string]any{"Forenames": long(51), "Surname": long(41), "Email": long(81), "MainCompanyID": 1}, status: 400,
			errs: []string{"Forenames must be 50 characters or fewer (it has 51).", "Surname must be 40 characters or fewer (it has 41).", "Email must be 80 characters or fewer (it has 81)."}},
		{name: "unknown company", body: map[string]any{"Forenames": "A", "Surname": "B", "MainCompanyID": 99}, status: 400,
			errs: []string{"MainCompanyID: Company 99 does not exist."}},
		{name: "unknown property", body: map[string]any{"Forenames": "A", "Surname": "B", "MainCompanyID": 1, "Shoe": "9"}, status: 400,
			errs: []string{"The property 'Shoe' does not exist on type 'User'."}},
		{name: "bad date", body: map[string]any{"Forenames": "A", "Surname": "B", "MainCompanyID": 1, "DOB": "soon"}, status: 400,
			errs: []string{"DOB: 'soon' is not a valid date."}},
		{name: "custom field ok", body: map[string]any{"Forenames": "A", "Surname": "B", "MainCompanyID": 1, "CF_Anything": "x"}, status: 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, got := e.call(t, http.MethodPost, "User", tt.body)
			if status != tt.status {
				t.Fatalf("POST User %v status = %d (%v), want %d", tt.body, status, got, tt.status)
			}
			if tt.status != 201 {
				var errs []string
				for _, x := range got["Errors"].([]any) {
					errs = append(errs, x.(string))
				}
				if diff := cmp.Diff(tt.errs, errs); diff != "" || got["Message"] == nil {
					t.Errorf("POST User %v errors mismatch (-want +got):\n%s", tt.body, diff)
				}
				return
			}
			if got["CreatedByID"] != 77.0 || got["UpdatedByID"] != 77.0 || got["MainCompanyName"] != "Acme" || got["Status"] != "Active" {
				t.Errorf("POST User = %v, want audit by 77, company name and status Active", got)
			}
			if _, err := time.Parse("2006-01-02T15:04:05.000", got["DateUpdated"].(string)); err != nil {
				t.Errorf("POST User DateUpdated = %v, want 2006-01-02T15:04:05.000 form", got["DateUpdated"])
			}
			if v, ok := got["Title"]; !ok || v != nil {
				t.Errorf("POST User Title = %v (present %v), want null", v, ok)
			}
		})
	}
}

func TestUpdateAndDelete(t *testing.T) {
	e := start(t)
	_, created := e.call(t, http.MethodPost, "User", map[string]any{"Forenames": "Ada", "Surname": "L", "MainCompanyID": 1})
	id := created["ID"].(float64)
	path := "User/" + jsonNumber(id)
	if err := e.sim.EditUserInUI(jsonNumber(id), map[string]any{"JobTitle": "Admin"}); err != nil {
		t.Fatal(err)
	}
	status, got := e.call(t, http.MethodPut, path, map[string]any{"Surname": "Lovelace"})
	if status != 200 || got["Surname"] != "Lovelace" || got["Forenames"] != "Ada" || got["JobTitle"] != "Admin" || got["UpdatedByID"] != 77.0 {
		t.Errorf("PUT %s = %d %v, want only Surname changed, by 77", path, status, got)
	}
	if got["DateUpdated"].(string) <= created["DateUpdated"].(string) {
		t.Errorf("PUT %s DateUpdated = %v, want after %v", path, got["DateUpdated"], created["DateUpdated"])
	}
	if status, _ := e.call(t, http.MethodPut, path, map[string]any{"Forenames": ""}); status != 400 {
		t.Errorf("PUT %s emptying Forenames status = %d, want 400", path, status)
	}
	if status, _ := e.call(t, http.MethodDelete, path, nil); status != 204 {
		t.Fatalf("DELETE %s status = %d, want 204", path, status)
	}
	if status, got := e.call(t, http.MethodGet, path, nil); status != 200 || got["Status"] != "Deleted" {
		t.Errorf("GET %s after one delete = %d %v, want Status Deleted", path, status, got)
	}
	e.call(t, http.MethodDelete, path, nil)
	if status, _ := e.call(t, http.MethodGet, path, nil); status != 404 {
		t.Errorf("GET %s after two deletes status = %d, want 404", path, status)
	}
}

func jsonNumber(f float64) string { b, _ := json.Marshal(f); return string(b) }

func TestEditUserIsRecordedAgainstTheUIUser(t *testing.T) {
	e := start(t)
	id, err := e.sim.AddUser(map[string]any{"Forenames": "A", "Surname": "B", "MainCompanyID": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.EditUserInUI(id, map[string]any{"Email": "x@y.z"}); err != nil {
		t.Fatal(err)
	}
	u, _ := e.sim.User(id)
	if u["UpdatedByID"] != 1 || u["Email"] != "x@y.z" {
		t.Errorf("User(%s) after EditUserInUI = %v, want UpdatedByID 1 (the UI user)", id, u)
	}
	if err := e.sim.EditUserInUI(id, map[string]any{"Surname": ""}); err == nil {
		t.Errorf("EditUserInUI emptying Surname error = nil, want a validation error")
	}
}

func TestAuth(t *testing.T) {
	e := start(t)
	e.sim.AddAPIKey("disabled-key", "5")
	e.sim.DisableAPIKey("disabled-key")
	for _, header := range []string{"", "Bearer nope", "Bearer disabled-key", "Basic " + key} {
		req, _ := http.NewRequest(http.MethodGet, e.base+e.sim.Prefix()+"User", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || body["Message"] == nil {
			t.Errorf("GET User with Authorization %q = %d %v, want 401 with a Message", header, resp.StatusCode, body)
		}
	}
}

func TestODataQueries(t *testing.T) {
	e := start(t)
	e.sim.AddCompany("Beta")
	for _, u := range []map[string]any{
		{"Forenames": "Ada", "Surname": "Lovelace", "Email": "Ada@Example.com", "MainCompanyID": 1},
		{"Forenames": "Alan", "Surname": "Turing", "Email": "alan@example.com", "MainCompanyID": 2},
		{"Forenames": "Grace", "Surname": "O'Hopper", "Email": "grace@example.com", "MainCompanyID": 2},
	} {
		if _, err := e.sim.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		query  string
		status int
		want   []string // Forenames in answer order
	}{
		{query: "", status: 200, want: []string{"Ada", "Alan", "Grace"}},
		{query: "$filter=Email eq 'ada@example.com'", status: 200, want: []string{"Ada"}},
		{query: "$filter=ID eq '1002'", status: 200, want: []string{"Alan"}},
		{query: "$filter=ID eq 1002", status: 200, want: []string{"Alan"}},
		{query: "$filter=MainCompanyID eq 2 and Forenames eq 'grace'", status: 200, want: []string{"Grace"}},
		{query: "$filter=Surname eq 'O''Hopper'", status: 200, want: []string{"Grace"}},
		{query: "$filter=Title eq null and ID eq 1001", status: 200, want: []string{"Ada"}},
		{query: "$orderby=Forenames desc&$top=2", status: 200, want: []string{"Grace", "Alan"}},
		{query: "$orderby=ID&$skip=1&$top=1", status: 200, want: []string{"Alan"}},
		{query: "$skip=5", status: 200, want: []string{}},
		{query: "$filter=contains(Email,'ada')", status: 400},
		{query: "$filter=Email ne 'alan@example.com'", status: 200, want: []string{"Ada", "Grace"}},
		{query: "$filter=Email eq 'x' or ID eq 1001", status: 200, want: []string{"Ada"}},
		{query: "$filter=ID eq 1001 or ID eq 1003 or ID eq 9999", status: 200, want: []string{"Ada", "Grace"}},
		{query: "$filter=MainCompanyID eq 2 and Forenames eq 'Alan' or ID eq 1001", status: 200, want: []string{"Ada", "Alan"}},
		{query: "$filter=ID gt 1001 and ID le 1003", status: 200, want: []string{"Alan", "Grace"}},
		{query: "$filter=ID lt 1002", status: 200, want: []string{"Ada"}},
		{query: "$filter=ID ge 1003", status: 200, want: []string{"Grace"}},
		{query: "$filter=Email eq 'x' or", status: 400},
		{query: "$filter=Email eq 'x' xor ID eq 1", status: 400},
		{query: "$filter=Email gt null", status: 400},
		{query: "$filter=(ID eq 1001)", status: 400},
		{query: "$filter=Shoe eq 'x'", status: 400},
		{query: "$filter=Email eq 'x", status: 400},
		{query: "$top=-1", status: 400},
		{query: "$orderby=Email,ID", status: 400},
		{query: "$expand=Company", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			status, got := e.call(t, http.MethodGet, "User?"+q.Encode(), nil)
			if status != tt.status {
				t.Fatalf("GET User?%s status = %d (%v), want %d", tt.query, status, got, tt.status)
			}
			if status != 200 {
				if got["Message"] == nil {
					t.Errorf("GET User?%s = %v, want a Message", tt.query, got)
				}
				return
			}
			names := []string{}
			for _, u := range got["results"].([]any) {
				names = append(names, u.(map[string]any)["Forenames"].(string))
			}
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("GET User?%s mismatch (-want +got):\n%s", tt.query, diff)
			}
		})
	}
	status, got := e.call(t, http.MethodGet, "User?"+url.Values{"$select": {"ID,Email"}, "$top": {"1"}}.Encode(), nil)
	want := map[string]any{"results": []any{map[string]any{"ID": 1001.0, "Email": "Ada@Example.com"}}}
	if diff := cmp.Diff(want, got); status != 200 || diff != "" {
		t.Errorf("GET User?$select=ID,Email = %d, mismatch (-want +got):\n%s", status, diff)
	}
}

func TestFaultsAndStats(t *testing.T) {
	e := start(t)
	e.sim.InjectFaults(apsim.Fault{Status: 503, Count: 2}, apsim.Fault{Drop: true})
	for i, want := range []int{503, 503, -1, 200} {
		req, _ := http.NewRequest(http.MethodGet, e.base+e.sim.Prefix()+"Company", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		switch {
		case want == -1 && err == nil:
			resp.Body.Close()
			t.Errorf("request %d: status %d, want a dropped connection", i, resp.StatusCode)
		case want != -1 && err != nil:
			t.Errorf("request %d: %v, want status %d", i, err, want)
		case want != -1:
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("request %d: status %d, want %d", i, resp.StatusCode, want)
			}
		}
	}
	st := e.sim.Stats()
	if st.Requests["GET Company"] != 4 || st.Faults != 3 {
		t.Errorf("Stats() = %+v, want 4 GET Company and 3 faults", st)
	}
}

// receiver records webhook deliveries; it fails the first failFirst.
type receiver struct {
	mu        sync.Mutex
	got       []string // method + " " + ID + " " + Surname
	bodies    []map[string]any
	failFirst int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failFirst > 0 {
		r.failFirst--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var body map[string]any
	_ = json.NewDecoder(req.Body).Decode(&body)
	r.bodies = append(r.bodies, body)
	r.got = append(r.got, req.Method+" "+jsonNumber(body["ID"].(float64))+" "+body["Surname"].(string))
}

func TestWebhooks(t *testing.T) {
	e := start(t)
	rec := &receiver{failFirst: 2}
	hook := httptest.NewServer(rec)
	defer hook.Close()
	e.sim.AddWebhook(hook.URL + "/hook")

	_, created := e.call(t, http.MethodPost, "User", map[string]any{"Forenames": "A", "Surname": "One", "MainCompanyID": 1})
	id := jsonNumber(created["ID"].(float64))
	e.call(t, http.MethodPut, "User/"+id, map[string]any{"Surname": "Two"})
	if err := e.sim.EditUserInUI(id, map[string]any{"Surname": "Three"}); err != nil {
		t.Fatal(err)
	}
	e.call(t, http.MethodDelete, "User/"+id, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.sim.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []string{"POST " + id + " One", "PUT " + id + " Two", "PUT " + id + " Three", "DELETE " + id + " Three"}
	if diff := cmp.Diff(want, rec.got); diff != "" {
		t.Errorf("webhooks mismatch (-want +got):\n%s", diff)
	}
	if len(rec.bodies) == 4 {
		if rec.bodies[1]["UpdatedByID"] != 77.0 || rec.bodies[2]["UpdatedByID"] != 1.0 || rec.bodies[3]["Status"] != "Deleted" || rec.bodies[2]["DateUpdated"] == nil {
			t.Errorf("webhook bodies = %v, want API edit by 77, UI edit by 1, delete with Status Deleted", rec.bodies)
		}
	}
	st := e.sim.Stats()
	if st.WebhooksDelivered != 4 || st.WebhookAttempts != 6 || st.WebhooksFailed != 0 {
		t.Errorf("Stats() = %+v, want 4 delivered in 6 attempts", st)
	}
}

func TestControlAPI(t *testing.T) {
	e := start(t)
	post := func(path, body string) *http.Response {
		resp, err := http.Post(e.base+"/_sandbox/"+path, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("users", `{"Forenames":"A","Surname":"B","MainCompanyID":1}`); resp.StatusCode != http.StatusCreated {
		t.Errorf("POST /_sandbox/users status = %d, want 201", resp.StatusCode)
	}
	if resp := post("users", `{"Forenames":"A"}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /_sandbox/users invalid status = %d, want 400", resp.StatusCode)
	}
	if resp := post("faults", `{"status":429,"count":1}`); resp.StatusCode != http.StatusNoContent {
		t.Errorf("POST /_sandbox/faults status = %d, want 204", resp.StatusCode)
	}
	if status, _ := e.call(t, http.MethodGet, "User", nil); status != 429 {
		t.Errorf("GET User after a 429 fault status = %d, want 429", status)
	}
	if resp := post("latency", `{"latency":"1ms"}`); resp.StatusCode != http.StatusNoContent {
		t.Errorf("POST /_sandbox/latency status = %d, want 204", resp.StatusCode)
	}
	if len(e.sim.Users()) != 1 || e.sim.Users()[0]["UpdatedByID"] != 1 {
		t.Errorf("Users() = %v, want one user made by the UI user", e.sim.Users())
	}
}
