package accessplanit_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/google/go-cmp/cmp"
)

// fixed starts a server on 127.0.0.1 answering every read with body and
// recording the last read's query.
type fixed struct {
	body  string
	query string
}

func (f *fixed) start(t *testing.T) *accessplanit.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.query = r.URL.RawQuery
		_, _ = io.WriteString(w, f.body)
	}))
	t.Cleanup(srv.Close)
	c, err := accessplanit.New(srv.URL+"/ap/api/v2", testKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUserDecodesLeniently(t *testing.T) {
	f := &fixed{body: `{"results":[{"ID":"12","Forenames":"Zoë","Surname":null,"MainCompanyID":3.0,"Score":1.50,"Big":1e3,
		"MarketingOptIn":false,"UserCompaniesIDs":[3, 4],"Extra":{"a": 1},"UpdatedByID":"9",
		"DateUpdated":"2025-01-02T03:04:05.6789"}]}`}
	c := f.start(t)
	got, err := c.User(context.Background(), "12")
	if err != nil {
		t.Fatalf("User(12) error = %v", err)
	}
	want := apmc.User{
		ID: "12", UpdatedByID: "9", UpdatedAt: time.Date(2025, 1, 2, 3, 4, 5, 678900000, time.UTC),
		Fields: map[string]string{
			"ID": "12", "Forenames": "Zoë", "MainCompanyID": "3", "Score": "1.5", "Big": "1000", "MarketingOptIn": "false",
			"UserCompaniesIDs": "[3,4]", "Extra": `{"a":1}`, "UpdatedByID": "9", "DateUpdated": "2025-01-02T03:04:05.6789",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("User(12) mismatch (-want +got):\n%s", diff)
	}
	if f.query != "$filter=ID%20eq%20%2712%27" {
		t.Errorf("User(12) query = %q, want $filter=ID eq '12' encoded", f.query)
	}
}

func TestUserAcceptsBareArrayAndZones(t *testing.T) {
	f := &fixed{body: `[{"ID":12,"DateUpdated":"2025-01-02T03:04:05+02:00"},{"ID":13}]`}
	c := f.start(t)
	got, err := c.User(context.Background(), "12")
	if err != nil || !got.UpdatedAt.Equal(time.Date(2025, 1, 2, 1, 4, 5, 0, time.UTC)) {
		t.Errorf("User(12) = %+v, %v; want UpdatedAt 01:04:05Z", got, err)
	}
	if _, err := c.User(context.Background(), "14"); err == nil {
		t.Errorf("User(14) from a list without it error = nil, want not found")
	}
}

func TestUsersByEmailQuotes(t *testing.T) {
	f := &fixed{body: `{"results":[]}`}
	c := f.start(t)
	if _, err := c.UsersByEmail(context.Background(), "o'brien+x@example.com"); err != nil {
		t.Fatal(err)
	}
	if want := "$filter=Email%20eq%20%27o%27%27brien%2Bx%40example.com%27"; f.query != want {
		t.Errorf("UsersByEmail query = %q, want %q", f.query, want)
	}
}

func TestCreateUserAnswers(t *testing.T) {
	list := `{"results":[{"ID":55,"Email":"a@b.c","DateUpdated":"2025-01-01T00:00:00"}]}`
	tests := []struct {
		name   string
		status int
		body   string
		header map[string]string
	}{
		{name: "the user", status: 201, body: `{"ID":55,"Email":"a@b.c","DateUpdated":"2025-01-01T00:00:00"}`},
		{name: "ID object", status: 201, body: `{"ID":"55"}`},
		{name: "bare number", status: 200, body: `55`},
		{name: "bare string", status: 200, body: `"55"`},
		{name: "location", status: 201, header: map[string]string{"Location": "/ap/api/v2/User/55"}},
		{name: "empty", status: 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &written{}
			c := postThenList(t, tt.status, tt.body, tt.header, list, rec)
			got, err := c.CreateUser(context.Background(), map[string]string{
				"Forenames": "A", "Surname": "B", "Email": "a@b.c", "MainCompanyID": "3", "DOB": "2000-02-29", "MarketingOptIn": "yes", "CF_Size": "12",
			})
			if err != nil || got.ID != "55" {
				t.Fatalf("CreateUser() = %+v, %v; want user 55", got, err)
			}
			var sent map[string]any
			if err := json.Unmarshal([]byte(rec.sent), &sent); err != nil {
				t.Fatalf("CreateUser sent %q: %v", rec.sent, err)
			}
			want := map[string]any{"Forenames": "A", "Surname": "B", "Email": "a@b.c", "MainCompanyID": 3.0, "DOB": "2000-02-29T00:00:00", "MarketingOptIn": true, "CF_Size": "12"}
			if diff := cmp.Diff(want, sent); diff != "" || rec.method != "POST /ap/api/v2/User" {
				t.Errorf("CreateUser sent %s (-want +got):\n%s", rec.method, diff)
			}
		})
	}
}

// written records the last write a server received.
type written struct{ method, sent string }

// postThenList starts a server on 127.0.0.1 answering writes with post
// (with status and header) and reads with list.
func postThenList(t *testing.T, status int, post string, header map[string]string, list string, rec *written) *accessplanit.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, list)
			return
		}
		b, _ := io.ReadAll(r.Body)
		rec.method, rec.sent = r.Method+" "+r.URL.Path, string(b)
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, post)
	}))
	t.Cleanup(srv.Close)
	c, err := accessplanit.New(srv.URL+"/ap/api/v2/", testKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A course's dates are its calendar dates in the zone the platform gave
// them in: a start at local midnight in British Summer Time is on that day,
// although in UTC it is still the day before.
func TestDelegateDatesKeepTheirZone(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, start, want string
	}{
		{"local midnight, BST", "2026-06-10T00:00:00+01:00", "2026-06-10"},
		{"late evening, US Eastern", "2026-06-10T23:30:00-04:00", "2026-06-10"},
		{"no zone (taken as UTC)", "2026-06-10T00:00:00", "2026-06-10"},
		{"UTC", "2026-06-10T00:00:00Z", "2026-06-10"},
		{"fractional seconds and offset", "2026-06-10T00:00:00.000+01:00", "2026-06-10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fixed{body: `{"results":[{"ID":"7~42","UserID":7,"CourseOrAliasName":"First Aid","Status":"Booked","StartDate":"` + tt.start + `"}]}`}
			ds, err := f.start(t).Delegates(context.Background(), "7")
			if err != nil || len(ds) != 1 {
				t.Fatalf("Delegates(7) = %v, %v", ds, err)
			}
			act := apmc.TrainingActivity(ds, apmc.ActivitySettings{}, now)
			if got := act.Fields[apmc.TagNextDate]; got != tt.want {
				t.Errorf("NEXTDATE of a start %s = %s, want %s", tt.start, got, tt.want)
			}
		})
	}
}
