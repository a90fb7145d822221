package mailchimp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// control posts body to a control endpoint and returns the "id" answered.
func (e *env) control(t *testing.T, path, body string, wantCode int) string {
	t.Helper()
	resp, err := http.Post(e.http.URL+"/_sandbox/lists/"+e.listID+path, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&v)
	if resp.StatusCode != wantCode {
		t.Fatalf("POST %s %s = %d %v, want %d", path, body, resp.StatusCode, v, wantCode)
	}
	return v["id"]
}

func TestInterestCategoriesThroughTheControlAPI(t *testing.T) {
	e := newEnv(t)
	depts := e.control(t, "/interest-categories", `{"title":"Departments","type":"checkboxes"}`, http.StatusCreated)
	sales := e.control(t, "/interest-categories/"+depts+"/interests", `{"name":"Sales"}`, http.StatusCreated)
	support := e.control(t, "/interest-categories/"+depts+"/interests", `{"name":"Support"}`, http.StatusCreated)
	region := e.control(t, "/interest-categories", `{"title":"Region","type":"radio"}`, http.StatusCreated)
	north := e.control(t, "/interest-categories/"+region+"/interests", `{"name":"North"}`, http.StatusCreated)
	south := e.control(t, "/interest-categories/"+region+"/interests", `{"name":"South"}`, http.StatusCreated)
	perm := e.control(t, "/marketing-permissions", `{"text":"Email"}`, http.StatusCreated)
	e.control(t, "/interest-categories", `{"title":"Bad","type":"sliders"}`, http.StatusBadRequest)
	e.control(t, "/interest-categories/nope/interests", `{"name":"X"}`, http.StatusNotFound)

	resp, body := e.do("GET", "/3.0/lists/"+e.listID+"/interest-categories", nil)
	if cats := decodeObject(t, body)["categories"].([]any); resp.StatusCode != http.StatusOK || len(cats) != 2 || cats[0].(map[string]any)["title"] != "Departments" {
		t.Errorf("GET interest-categories = %d %s", resp.StatusCode, body)
	}
	resp, body = e.do("GET", "/3.0/lists/"+e.listID+"/interest-categories/"+depts+"/interests", nil)
	if v := decodeObject(t, body); resp.StatusCode != http.StatusOK || v["total_items"] != 2.0 {
		t.Errorf("GET interests = %d %s", resp.StatusCode, body)
	}

	put := func(body map[string]any) (*http.Response, map[string]any) {
		body["email_address"] = "ada@example.com"
		body["status_if_new"] = "subscribed"
		resp, raw := e.do("PUT", e.memberPath("ada@example.com"), body)
		return resp, decodeObject(t, raw)
	}
	if resp, _ := put(map[string]any{"interests": map[string]bool{north: true}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT with North = %d", resp.StatusCode)
	}
	resp, m := put(map[string]any{"interests": map[string]bool{sales: true}, "marketing_permissions": []map[string]any{{"marketing_permission_id": perm, "enabled": true}}})
	want := map[string]any{sales: true, support: false, north: true, south: false}
	got := m["interests"].(map[string]any)
	for id, w := range want {
		if got[id] != w {
			t.Errorf("member interests = %v, want %v (other categories untouched)", got, want)
			break
		}
	}
	perms := m["marketing_permissions"].([]any)
	if resp.StatusCode != http.StatusOK || len(perms) != 1 || perms[0].(map[string]any)["enabled"] != true || perms[0].(map[string]any)["text"] != "Email" {
		t.Errorf("member marketing_permissions = %v", m["marketing_permissions"])
	}
	for name, body := range map[string]map[string]any{
		"two interests of a radio category": {"interests": map[string]bool{south: true}},
		"an unknown interest":               {"interests": map[string]bool{"nope": true}},
		"an unknown permission":             {"marketing_permissions": []map[string]any{{"marketing_permission_id": "nope", "enabled": true}}},
	} {
		if resp, _ := put(body); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT with %s = %d, want 400", name, resp.StatusCode)
		}
	}
}
