package accessplanit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	apsim "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	"github.com/google/go-cmp/cmp"
)

func TestImportUsersIsSilentAndKeepsDates(t *testing.T) {
	e := start(t)
	beta := e.sim.AddCompany("Beta")
	rec := &receiver{}
	hook := httptest.NewServer(rec)
	defer hook.Close()
	e.sim.AddWebhook(hook.URL + "/hook")
	before := e.sim.Stats()

	ids, err := e.sim.ImportUsers([]map[string]any{
		{"Forenames": "Ada", "Surname": "Lovelace", "Email": "ada@example.com", "DateUpdated": "2025-03-01T09:30:00.250", "CF_Region": "North"},
		{"forenames": "Alan", "surname": "Turing", "MainCompanyID": beta, "DateUpdated": "2025-04-01T10:00:00+01:00", "DateCreated": "2020-01-01T00:00:00Z", "Status": "Inactive"},
	})
	if err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("ImportUsers() ids = %v, want two distinct IDs", ids)
	}
	ada, _ := e.sim.User(ids[0])
	alan, _ := e.sim.User(ids[1])
	got := map[string]any{
		"ada.DateUpdated": ada["DateUpdated"], "ada.DateCreated": ada["DateCreated"], "ada.MainCompanyID": ada["MainCompanyID"], "ada.CF_Region": ada["CF_Region"], "ada.UpdatedByID": ada["UpdatedByID"],
		"alan.DateUpdated": alan["DateUpdated"], "alan.DateCreated": alan["DateCreated"], "alan.MainCompanyID": alan["MainCompanyID"], "alan.Status": alan["Status"],
	}
	want := map[string]any{
		"ada.DateUpdated": "2025-03-01T09:30:00.250", "ada.DateCreated": "2025-03-01T09:30:00.250", "ada.MainCompanyID": 1, "ada.CF_Region": "North", "ada.UpdatedByID": 1,
		"alan.DateUpdated": "2025-04-01T09:00:00.000", "alan.DateCreated": "2020-01-01T00:00:00.000", "alan.MainCompanyID": 2, "alan.Status": "Inactive",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("imported users mismatch (-want +got):\n%s", diff)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.sim.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	if len(rec.got) != 0 {
		t.Errorf("webhooks after an import = %v, want none", rec.got)
	}
	rec.mu.Unlock()
	if diff := cmp.Diff(before, e.sim.Stats()); diff != "" {
		t.Errorf("Stats() changed by an import (-before +after):\n%s", diff)
	}
}

func TestImportUsersIsAllOrNothing(t *testing.T) {
	e := start(t)
	tests := []struct {
		name  string
		users []map[string]any
		want  string // in a problem
	}{
		{"a missing surname", []map[string]any{{"Forenames": "Ok", "Surname": "One"}, {"Forenames": "No"}}, "user 1: Surname is required."},
		{"a bad date", []map[string]any{{"Forenames": "A", "Surname": "B", "DateUpdated": "soon"}}, "user 0: DateUpdated"},
		{"an unknown company", []map[string]any{{"Forenames": "A", "Surname": "B", "MainCompanyID": 99}}, "user 0: MainCompanyID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.sim.ImportUsers(tt.users)
			var ve *apsim.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(strings.Join(ve.Problems, " "), tt.want) {
				t.Fatalf("ImportUsers() error = %v, want a validation error naming %q", err, tt.want)
			}
			if n := len(e.sim.Users()); n != 0 {
				t.Errorf("Users() after a refused import = %d, want 0", n)
			}
		})
	}
}

func TestControlImport(t *testing.T) {
	e := start(t)
	post := func(body string) (int, map[string]any) {
		resp, err := http.Post(e.base+"/_sandbox/users/import", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	status, out := post(`[{"Forenames":"A","Surname":"B","DateUpdated":"2025-01-02T03:04:05Z"},{"Forenames":"C","Surname":"D"}]`)
	ids, _ := out["ids"].([]any)
	if status != http.StatusCreated || len(ids) != 2 {
		t.Fatalf("POST /_sandbox/users/import = %d %v, want 201 with two ids", status, out)
	}
	u, ok := e.sim.User(ids[0].(string))
	if !ok || u["DateUpdated"] != "2025-01-02T03:04:05.000" {
		t.Errorf("imported user = %v, want DateUpdated 2025-01-02T03:04:05.000", u)
	}
	if status, out := post(`[{"Forenames":"A"}]`); status != http.StatusBadRequest || out["problems"] == nil {
		t.Errorf("POST /_sandbox/users/import invalid = %d %v, want 400 with problems", status, out)
	}
}

func TestODataDateFilters(t *testing.T) {
	e := start(t)
	ids, err := e.sim.ImportUsers([]map[string]any{
		{"Forenames": "Jan", "Surname": "A", "DateUpdated": "2026-01-01T00:00:00"},
		{"Forenames": "Feb", "Surname": "B", "DateUpdated": "2026-02-01T12:00:00.500"},
		{"Forenames": "Mar", "Surname": "C", "DateUpdated": "2026-03-01T00:00:00"},
	})
	if err != nil || len(ids) != 3 {
		t.Fatal(err)
	}
	tests := []struct {
		filter string
		status int
		want   []string
	}{
		{"DateUpdated gt 2026-01-01T00:00:00Z", 200, []string{"Feb", "Mar"}},
		{"DateUpdated ge 2026-01-01T00:00:00Z", 200, []string{"Jan", "Feb", "Mar"}},
		{"DateUpdated lt 2026-02-01T12:00:00.5Z", 200, []string{"Jan"}},
		{"DateUpdated le 2026-02-01T12:00:00.5Z", 200, []string{"Jan", "Feb"}},
		{"DateUpdated eq 2026-03-01T00:00:00Z", 200, []string{"Mar"}},
		{"DateUpdated gt 2026-02-01T13:00:00+02:00", 200, []string{"Feb", "Mar"}}, // 11:00Z
		{"DateUpdated gt 2026-02-01T15:00:00+02:00", 200, []string{"Mar"}},        // 13:00Z
		{"DateUpdated gt datetime'2026-02-01T12:00:00'", 200, []string{"Feb", "Mar"}},
		{"DateUpdated lt 2026-01-15T00:00:00Z or DateUpdated ge 2026-03-01T00:00:00Z", 200, []string{"Jan", "Mar"}},
		{"DateUpdated ge 2026-01-15T00:00:00Z and Forenames eq 'mar'", 200, []string{"Mar"}},
		{"DateUpdated gt 2026-13-45T00:00:00Z", 400, nil},
		{"Surname gt 2026-01-01T00:00:00Z", 400, nil},
		{"ID gt -5", 200, []string{"Jan", "Feb", "Mar"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			q := url.Values{"$filter": {tt.filter}, "$orderby": {"DateUpdated"}}
			status, got := e.call(t, http.MethodGet, "User?"+q.Encode(), nil)
			if status != tt.status {
				t.Fatalf("GET User?$filter=%s status = %d (%v), want %d", tt.filter, status, got, tt.status)
			}
			if status != 200 {
				return
			}
			names := []string{}
			for _, u := range got["results"].([]any) {
				names = append(names, u.(map[string]any)["Forenames"].(string))
			}
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("GET User?$filter=%s mismatch (-want +got):\n%s", tt.filter, diff)
			}
		})
	}
}
