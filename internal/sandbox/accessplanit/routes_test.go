package accessplanit_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

func TestRoutes(t *testing.T) {
	e := start(t)
	id, err := e.sim.AddUser(map[string]any{"Forenames": "Ada", "Surname": "Lovelace", "Email": "ada@example.com", "MainCompanyID": 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		body         any
		status       int
		message      string // the error Message, when there is one
		wantID       string // the ID answered, when one item is
	}{
		{method: "GET", path: "User/" + id, status: 200, wantID: id},
		{method: "GET", path: "user/" + id, status: 200, wantID: id},
		{method: "GET", path: "USER", status: 200},
		{method: "GET", path: "User/999", status: 404, message: "No item with ID 999."},
		{method: "PATCH", path: "user/" + id, body: map[string]any{"JobTitle": "Analyst"}, status: 200, wantID: id},
		{method: "PUT", path: "User/x", body: map[string]any{}, status: 404, message: "User x not found."},
		{method: "PUT", path: "User", body: map[string]any{}, status: 405, message: "The requested resource does not support http method 'PUT'."},
		{method: "POST", path: "User/" + id, body: map[string]any{}, status: 405, message: "The requested resource does not support http method 'POST'."},
		{method: "GET", path: "Company/1", status: 200, wantID: "1"},
		{method: "GET", path: "company", status: 200},
		{method: "POST", path: "Company", body: map[string]any{"Name": "X"}, status: 405, message: "The requested resource does not support http method 'POST'."},
		{method: "GET", path: "CustomFieldMetadata", status: 200},
		{method: "GET", path: "CustomFieldMetadata/1", status: 405, message: "The requested resource does not support http method 'GET'."},
		{method: "GET", path: "Venue", status: 404, message: "No module named 'Venue'."},
		{method: "GET", path: "Course", status: 200},
		{method: "GET", path: "usercoursedate", status: 200},
		{method: "POST", path: "UserCourseDate", body: map[string]any{}, status: 405, message: "The requested resource does not support http method 'POST'."},
		{method: "GET", path: "User/" + id + "/Bookings", status: 404, message: "No HTTP resource was found that matches the request URI."},
		{method: "DELETE", path: "User/999", status: 404, message: "User 999 not found."},
		{method: "DELETE", path: "USER/" + id, status: 204},
	}
	for _, tt := range tests {
		status, got := e.call(t, tt.method, tt.path, tt.body)
		if status != tt.status {
			t.Errorf("%s %s status = %d (%v), want %d", tt.method, tt.path, status, got, tt.status)
			continue
		}
		if tt.message != "" && got["Message"] != tt.message {
			t.Errorf("%s %s Message = %v, want %q", tt.method, tt.path, got["Message"], tt.message)
		}
		if tt.wantID != "" && fmt.Sprint(got["ID"]) != tt.wantID {
			t.Errorf("%s %s ID = %v, want %s", tt.method, tt.path, got["ID"], tt.wantID)
		}
	}
	if st := e.sim.Stats(); st.Requests["GET user"] != 1 || st.Requests["GET User"] != 3 {
		t.Errorf("Stats().Requests = %v, want modules counted as the request spelt them", st.Requests)
	}
}

func TestControlRoutes(t *testing.T) {
	e := start(t)
	id, err := e.sim.AddUser(map[string]any{"Forenames": "Ada", "Surname": "Lovelace", "MainCompanyID": 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path, body string
		status             int
		check              func(t *testing.T)
	}{
		{"GET", "users/" + id, "", 200, nil},
		{"GET", "users/999", "", 404, nil},
		{"POST", "users/" + id + "/edit", `{"JobTitle":"Analyst"}`, 200, func(t *testing.T) {
			if u, _ := e.sim.User(id); u["JobTitle"] != "Analyst" || u["UpdatedByID"] != 1 {
				t.Errorf("User(%s) after edit = %v, want JobTitle Analyst by the UI user", id, u)
			}
		}},
		{"POST", "users/" + id + "/edit", `{"Surname":""}`, 400, nil},
		{"POST", "users/999/edit", `{"JobTitle":"X"}`, 404, nil},
		{"PUT", "users/" + id, `{"JobTitle":"X"}`, 404, nil},
		{"POST", "users/" + id + "/delete", "", 204, func(t *testing.T) {
			if u, _ := e.sim.User(id); u["Status"] != "Deleted" {
				t.Errorf("User(%s) after delete = %v, want Status Deleted", id, u)
			}
		}},
		{"POST", "users/999/delete", "", 404, nil},
		{"POST", "latency", `{"latency":"soon"}`, 400, nil},
		{"DELETE", "faults", "", 204, nil},
		{"GET", "nothing", "", 404, nil},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, e.base+"/_sandbox/"+tt.path, bytes.NewBufferString(tt.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s /_sandbox/%s: %v", tt.method, tt.path, err)
		}
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("%s /_sandbox/%s = %d %v, want %d", tt.method, tt.path, resp.StatusCode, v, tt.status)
		}
		if tt.check != nil {
			tt.check(t)
		}
	}
}
