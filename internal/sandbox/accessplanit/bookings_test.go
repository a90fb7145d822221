package accessplanit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Bookings made through the control API create the course, the course date
// and the delegate, send the delegate's webhook, and are read back from
// GET UserCourseDate with a filter.
func TestBookings(t *testing.T) {
	e := start(t)
	var mu sync.Mutex
	var hooks []string // method, ID and Status of each delivery
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		defer mu.Unlock()
		hooks = append(hooks, fmt.Sprint(r.Method, " ", body["ID"], " ", body["Status"]))
	}))
	defer hook.Close()
	e.sim.AddWebhook(hook.URL)

	_, ada := e.call(t, http.MethodPost, "User", map[string]any{"Forenames": "Ada", "Surname": "Lovelace", "MainCompanyID": 1})
	adaID := jsonNumber(ada["ID"].(float64))
	_, grace := e.call(t, http.MethodPost, "User", map[string]any{"Forenames": "Grace", "Surname": "Hopper", "MainCompanyID": 1})
	graceID := jsonNumber(grace["ID"].(float64))

	book := func(body string) (int, map[string]any) {
		resp, err := http.Post(e.base+"/_sandbox/bookings", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	status, out := book(`{"user_id":"` + adaID + `","course":"First Aid","start_date":"2026-12-24"}`)
	id, _ := out["id"].(string)
	if status != http.StatusOK || id == "" || id[:len(adaID)+1] != adaID+"~" {
		t.Fatalf("POST /_sandbox/bookings = %d %v, want 200 with id %s~<CourseDateID>", status, out, adaID)
	}
	if status, out := book(`{"user_id":"` + graceID + `","course":"first aid","start_date":"2026-12-24","status":"Waiting List"}`); status != http.StatusOK || out["id"] != graceID+id[len(adaID):] {
		t.Errorf("Grace on the same course date = %d %v, want the same CourseDateID", status, out)
	}
	if status, again := book(`{"user_id":"` + adaID + `","course":"First Aid","start_date":"2026-12-24","status":"Cancelled"}`); status != http.StatusOK || again["id"] != id {
		t.Errorf("cancelling = %d %v, want the same delegate %s", status, again, id)
	}
	for _, bad := range []struct {
		body string
		want int
	}{
		{`{"user_id":"` + adaID + `","course":"First Aid","start_date":"2026-12-24","status":"Maybe"}`, http.StatusBadRequest},
		{`{"user_id":"` + adaID + `","course":"","start_date":"2026-12-24"}`, http.StatusBadRequest},
		{`{"user_id":"` + adaID + `","course":"First Aid","start_date":"soon"}`, http.StatusBadRequest},
		{`{"user_id":"99999","course":"First Aid","start_date":"2026-12-24"}`, http.StatusNotFound},
	} {
		if status, out := book(bad.body); status != bad.want {
			t.Errorf("POST /_sandbox/bookings %s = %d %v, want %d", bad.body, status, out, bad.want)
		}
	}

	status, list := e.call(t, http.MethodGet, "UserCourseDate?$filter="+url.QueryEscape("UserID eq '"+adaID+"'"), nil)
	results, _ := list["results"].([]any)
	if status != http.StatusOK || len(results) != 1 {
		t.Fatalf("GET UserCourseDate for %s = %d %v, want Ada's one delegate", adaID, status, list)
	}
	d := results[0].(map[string]any)
	if d["ID"] != id || d["CourseOrAliasName"] != "First Aid" || d["Status"] != "Cancelled" || d["StartDate"] != "2026-12-24T00:00:00" || d["UserFullName"] != "Ada Lovelace" {
		t.Errorf("delegate = %v", d)
	}
	// The User's booking dates: Ada's one booking was cancelled, Grace waits.
	_, u := e.call(t, http.MethodGet, "User?$select=ID,LatestCourseDateBooked,LatestCourseDateAttended,LastBooking&$filter="+url.QueryEscape("ID eq '"+adaID+"'"), nil)
	if users, _ := u["results"].([]any); len(users) != 1 {
		t.Errorf("GET User %s with booking dates = %v", adaID, u)
	} else if got := users[0].(map[string]any); got["LastBooking"] == nil || got["LatestCourseDateBooked"] != nil || got["LatestCourseDateAttended"] != nil {
		t.Errorf("Ada's booking dates = %v, want LastBooking only (her booking was cancelled)", got)
	}
	_, attended := book(`{"user_id":"` + adaID + `","course":"Fire Safety","start_date":"2026-11-02","status":"Attended"}`)
	_, u = e.call(t, http.MethodGet, "User/"+adaID, nil)
	if u["LatestCourseDateAttended"] != "2026-11-02T00:00:00" || u["LatestCourseDateBooked"] != "2026-11-02T00:00:00" {
		t.Errorf("Ada's booking dates after attending = %v, %v; want 2026-11-02T00:00:00 both", u["LatestCourseDateBooked"], u["LatestCourseDateAttended"])
	}
	if _, courses := e.call(t, http.MethodGet, "Course", nil); len(courses["results"].([]any)) != 2 {
		t.Errorf("GET Course = %v, want one course", courses)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.sim.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var delegateHooks []string
	for _, h := range hooks {
		if strings.Contains(h, "~") {
			delegateHooks = append(delegateHooks, h)
		}
	}
	want := []string{"POST " + id + " Booked", "POST " + graceID + id[len(adaID):] + " Waiting List", "PUT " + id + " Cancelled", fmt.Sprint("POST ", attended["id"], " Attended")}
	if diff := cmp.Diff(want, delegateHooks); diff != "" {
		t.Errorf("delegate webhooks differ (-want +got):\n%s", diff)
	}
}
