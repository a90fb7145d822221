package mailchimp

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestContract sends well-formed requests for every operation of the subset
// and holds both the request and the simulator's answer to the contract
// document. (Every other test also holds each JSON answer to it.)
func TestContract(t *testing.T) {
	v := contractValidator(t)
	e := newEnv(t, MergeField{Tag: "BIRTHDAY", Name: "Birthday", Type: "birthday"})
	rc := newReceiver(t)
	ann := "ann@example.com"
	tests := []struct {
		method, path string
		body         any
		wantCode     int
	}{
		{"GET", "/3.0/ping", nil, 200},
		{"GET", "/3.0/lists?count=5&offset=0", nil, 200},
		{"GET", "/3.0/lists/" + e.listID, nil, 200},
		{"GET", "/3.0/lists/" + e.listID + "/merge-fields", nil, 200},
		{"PUT", e.memberPath(ann), map[string]any{"email_address": ann, "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "Ann", "BIRTHDAY": "05/01",
			"ADDRESS": map[string]any{"addr1": "1 Main St", "city": "Leeds", "state": "WY", "zip": "LS1"}}}, 200},
		{"PUT", e.memberPath(ann), map[string]any{"email_address": ann, "status": "unsubscribed"}, 200},
		{"PATCH", e.memberPath(ann), map[string]any{"merge_fields": map[string]any{"LNAME": "Lee"}}, 200},
		{"GET", e.memberPath(ann), nil, 200},
		{"GET", e.memberPath("nobody@example.com"), nil, 404},
		{"PUT", e.memberPath("x@example.invalid"), map[string]any{"email_address": "x@example.invalid", "status_if_new": "subscribed"}, 400},
		{"PUT", e.memberPath("b@example.com"), map[string]any{"email_address": "b@example.com", "status_if_new": "subscribed", "merge_fields": map[string]any{"BIRTHDAY": "1990"}}, 400},
		{"POST", "/3.0/lists/" + e.listID, map[string]any{"members": []any{map[string]any{"email_address": "c@example.com", "status": "subscribed"}, map[string]any{"email_address": ann, "status": "subscribed"}}}, 200},
		{"POST", "/3.0/lists/" + e.listID + "/webhooks", map[string]any{"url": rc.URL + "/hook", "events": map[string]bool{"subscribe": true, "profile": true}, "sources": map[string]bool{"user": true, "admin": true, "api": true}}, 200},
		{"GET", "/3.0/lists/" + e.listID + "/webhooks", nil, 200},
	}
	for _, tt := range tests {
		req, raw := e.request(tt.method, tt.path, tt.body)
		resp, body := e.send(req, raw)
		if resp.StatusCode != tt.wantCode {
			t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, resp.StatusCode, body, tt.wantCode)
		}
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(raw))
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if ok, errs := v.ValidateHttpRequestResponse(r, resp); !ok {
			for _, err := range errs {
				t.Errorf("contract: %s %s → %d: %s", tt.method, tt.path, resp.StatusCode, describeValidation(err))
			}
		}
	}
}

// TestContractCatchesDrift proves the contract check can fail: answers that
// break the document are refused.
func TestContractCatchesDrift(t *testing.T) {
	v := contractValidator(t)
	tests := []struct {
		name, path, contentType, body string
	}{
		{"problem without title", "/3.0/ping", "application/problem+json", `{"type":"t","status":404,"detail":"d","instance":"i"}`},
		{"member with an unknown status", "/3.0/lists/abc/members/" + SubscriberHash("a@example.com"), "application/json", `{"id":"x","status":"happy"}`},
		{"list with a boolean notify_on_subscribe", "/3.0/lists/abc", "application/json", `{"id":"abc","notify_on_subscribe":false}`},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1"+tt.path, nil)
		status := 200
		if strings.Contains(tt.contentType, "problem") {
			status = 404
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {tt.contentType}}, Body: io.NopCloser(strings.NewReader(tt.body)), Request: req}
		if ok, _ := v.ValidateHttpResponse(req, resp); ok {
			t.Errorf("ValidateHttpResponse(%s) = valid, want invalid", tt.name)
		}
	}
}
