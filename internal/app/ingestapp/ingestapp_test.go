package ingestapp_test

import (
	"context"
	"fmt"
	"github.com/apmc-sync/apmc/internal/apmc"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/apptest"
	"github.com/apmc-sync/apmc/internal/app/ingestapp"
	"github.com/apmc-sync/apmc/internal/queue"
)

func TestConfigFromEnv(t *testing.T) {
	all := map[string]string{"INSTANCES_TABLE": "instances", "QUEUE_URL": "https://sqs/changes.fifo"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for name, value := range all {
			m[name] = value
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name    string
		vars    map[string]string
		want    ingestapp.Config
		wantErr string
	}{
		{"defaults", all, ingestapp.Config{InstancesTable: "instances", QueueURL: "https://sqs/changes.fifo", InstanceCacheTTL: ingestapp.DefaultInstanceCacheTTL, BurstWindowCache: apmc.DefaultBurstWindowCache}, ""},
		{"cache seconds", with("INSTANCE_CACHE_SECONDS", "3"), ingestapp.Config{InstancesTable: "instances", QueueURL: "https://sqs/changes.fifo", InstanceCacheTTL: 3 * time.Second, BurstWindowCache: apmc.DefaultBurstWindowCache}, ""},
		{"burst windows", func() map[string]string {
			m := with("CONTACTS_TABLE", "contacts")
			m["BURST_WINDOW_CACHE_SECONDS"] = "4"
			return m
		}(), ingestapp.Config{InstancesTable: "instances", QueueURL: "https://sqs/changes.fifo", InstanceCacheTTL: ingestapp.DefaultInstanceCacheTTL, ContactsTable: "contacts", BurstWindowCache: 4 * time.Second}, ""},
		{"bulk queue", with("BULK_QUEUE_URL", "https://sqs/changes-bulk.fifo"), ingestapp.Config{InstancesTable: "instances", QueueURL: "https://sqs/changes.fifo", BulkQueueURL: "https://sqs/changes-bulk.fifo", InstanceCacheTTL: ingestapp.DefaultInstanceCacheTTL, BurstWindowCache: apmc.DefaultBurstWindowCache}, ""},
		{"bulk lane threshold", func() map[string]string {
			m := with("BULK_LANE_LIMIT", "50")
			m["BULK_LANE_WINDOW_SECONDS"] = "2"
			return m
		}(), ingestapp.Config{InstancesTable: "instances", QueueURL: "https://sqs/changes.fifo", BulkLimit: 50, BulkWindow: 2 * time.Second, InstanceCacheTTL: ingestapp.DefaultInstanceCacheTTL, BurstWindowCache: apmc.DefaultBurstWindowCache}, ""},
		{"bad bulk limit", with("BULK_LANE_LIMIT", "0"), ingestapp.Config{InstancesTable: "instances", QueueURL: "https://sqs/changes.fifo", InstanceCacheTTL: ingestapp.DefaultInstanceCacheTTL, BurstWindowCache: apmc.DefaultBurstWindowCache},
			`configuration: BULK_LANE_LIMIT must be a whole number of at least 1, not "0"`},
		{"nothing set", nil, ingestapp.Config{InstanceCacheTTL: ingestapp.DefaultInstanceCacheTTL, BurstWindowCache: apmc.DefaultBurstWindowCache}, "configuration: INSTANCES_TABLE is not set; QUEUE_URL is not set"},
		{"bad cache seconds", with("INSTANCE_CACHE_SECONDS", "soon"), ingestapp.Config{InstancesTable: "instances", QueueURL: "https://sqs/changes.fifo", InstanceCacheTTL: ingestapp.DefaultInstanceCacheTTL, BurstWindowCache: apmc.DefaultBurstWindowCache},
			`configuration: INSTANCE_CACHE_SECONDS must be a whole number of seconds, not "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ingestapp.ConfigFromEnv(func(name string) string { return tt.vars[name] })
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("ConfigFromEnv() error = %q, want %q", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ConfigFromEnv() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	deps := app.Deps{AWS: apptest.New(t).Clients}
	tests := []struct {
		name string
		cfg  ingestapp.Config
		deps app.Deps
		want string
	}{
		{"no settings", ingestapp.Config{}, deps, "ingest configuration: no instances table, queue URL"},
		{"no queue", ingestapp.Config{InstancesTable: "t"}, deps, "ingest configuration: no queue URL"},
		{"no clients", ingestapp.Config{InstancesTable: "t", QueueURL: "q"}, app.Deps{}, "ingest: no AWS clients"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, build := range map[string]func(ingestapp.Config, app.Deps) (http.Handler, error){
				"NewAccessplanit": ingestapp.NewAccessplanit, "NewMailchimp": ingestapp.NewMailchimp,
			} {
				h, err := build(tt.cfg, tt.deps)
				if err == nil || err.Error() != tt.want || h != nil {
					t.Errorf("%s() = %v, %v, want nil, %q", name, h, err, tt.want)
				}
			}
		})
	}
}

// TestEndpointsQueueDeliveries builds both endpoints as their functions do,
// over kumo, and checks each authenticates a delivery against the sealed
// instance and queues the change.
func TestEndpointsQueueDeliveries(t *testing.T) {
	d := apptest.New(t, apptest.Instance("acme"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := ingestapp.Config{InstancesTable: d.Tables.Instances, QueueURL: d.Queues.ChangesURL, InstanceCacheTTL: time.Minute}
	deps := app.Deps{AWS: d.Clients}
	accessplanit, err := ingestapp.NewAccessplanit(cfg, deps)
	if err != nil {
		t.Fatalf("NewAccessplanit() error = %v", err)
	}
	mailchimp, err := ingestapp.NewMailchimp(cfg, deps)
	if err != nil {
		t.Fatalf("NewMailchimp() error = %v", err)
	}
	user := `{"ID":1042,"Forenames":"Ada","Surname":"Lovelace","Email":"ada@example.com"}`
	form := "type=subscribe&fired_at=2026-11-26+09%3A14%3A07&data%5Bemail%5D=grace%40example.com&data%5Bmerges%5D%5BFNAME%5D=Grace&data%5Bmerges%5D%5BLNAME%5D=Hopper"
	tests := []struct {
		name        string
		handler     http.Handler
		method      string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantQueued  bool
	}{
		{"accessplanit user created", accessplanit, http.MethodPost, "/webhooks/accessplanit/acme/ap-token-acme-5c1d", "application/json", user, http.StatusAccepted, true},
		{"accessplanit wrong token", accessplanit, http.MethodPost, "/webhooks/accessplanit/acme/mc-token-acme-9e2f", "application/json", user, http.StatusNotFound, false},
		{"mailchimp URL check", mailchimp, http.MethodGet, "/webhooks/mailchimp/acme/mc-token-acme-9e2f", "", "", http.StatusOK, false},
		{"mailchimp subscribe", mailchimp, http.MethodPost, "/webhooks/mailchimp/acme/mc-token-acme-9e2f", "application/x-www-form-urlencoded", form, http.StatusOK, true},
		{"mailchimp unknown instance", mailchimp, http.MethodPost, "/webhooks/mailchimp/other/mc-token-acme-9e2f", "application/x-www-form-urlencoded", form, http.StatusNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			tt.handler.ServeHTTP(w, req)
			if w.Code != tt.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, w.Code, w.Body, tt.wantStatus)
			}
			if got := drain(ctx, t, d.Clients.SQS, d.Queues.ChangesURL); got != map[bool]int{true: 1}[tt.wantQueued] {
				t.Errorf("%s %s queued %d changes, want queued = %v", tt.method, tt.path, got, tt.wantQueued)
			}
		})
	}
}

// TestBurstTakesTheBulkLane builds both endpoints with a bulk queue and a
// limit of 2 deliveries: from the third delivery of an instance within the
// window, each endpoint's changes go to the bulk queue, except Mailchimp
// email changes, which stay on the changes queue (the profile change after
// one must not overtake it).
func TestBurstTakesTheBulkLane(t *testing.T) {
	d := apptest.New(t, apptest.Instance("acme"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	qs, err := queue.CreateBulk(ctx, d.Clients.SQS, d.Queues, "app", 30, 5)
	if err != nil {
		t.Fatalf("CreateBulk() error = %v", err)
	}
	cfg := ingestapp.Config{InstancesTable: d.Tables.Instances, QueueURL: qs.ChangesURL, BulkQueueURL: qs.BulkURL, BulkLimit: 2, BulkWindow: time.Minute, InstanceCacheTTL: time.Minute}
	deps := app.Deps{AWS: d.Clients}
	accessplanit, err := ingestapp.NewAccessplanit(cfg, deps)
	if err != nil {
		t.Fatalf("NewAccessplanit() error = %v", err)
	}
	mailchimp, err := ingestapp.NewMailchimp(cfg, deps)
	if err != nil {
		t.Fatalf("NewMailchimp() error = %v", err)
	}
	post := func(h http.Handler, path, contentType, body string, want int) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			t.Fatalf("POST %s = %d %s, want %d", path, w.Code, w.Body, want)
		}
	}
	for i := range 5 {
		post(accessplanit, "/webhooks/accessplanit/acme/ap-token-acme-5c1d", "application/json",
			fmt.Sprintf(`{"ID":%d,"Forenames":"Ada","Surname":"Lovelace","Email":"ada%d@example.com"}`, 1000+i, i), http.StatusAccepted)
		post(mailchimp, "/webhooks/mailchimp/acme/mc-token-acme-9e2f", "application/x-www-form-urlencoded",
			fmt.Sprintf("type=subscribe&fired_at=2026-11-26+09%%3A14%%3A0%d&data%%5Bemail%%5D=grace%d%%40example.com", i, i), http.StatusOK)
	}
	for i := range 2 {
		post(mailchimp, "/webhooks/mailchimp/acme/mc-token-acme-9e2f", "application/x-www-form-urlencoded",
			fmt.Sprintf("type=upemail&fired_at=2026-11-26+09%%3A15%%3A0%d&data%%5Bold_email%%5D=grace%d%%40example.com&data%%5Bnew_email%%5D=grace.h%d%%40example.com", i, i, i), http.StatusOK)
	}
	if got := drain(ctx, t, d.Clients.SQS, qs.ChangesURL); got != 2+2+2 {
		t.Errorf("changes queue holds %d changes, want 6 (2 of each endpoint before the limit, 2 Mailchimp email changes after it)", got)
	}
	if got := drain(ctx, t, d.Clients.SQS, qs.BulkURL); got != 3+3 {
		t.Errorf("bulk queue holds %d changes, want 6 (each endpoint's 3 deliveries over the limit)", got)
	}
}

// drain receives and deletes what the queue holds and says how many.
func drain(ctx context.Context, t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	n := 0
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatalf("ReceiveMessage() error = %v", err)
		}
		if len(out.Messages) == 0 {
			return n
		}
		for _, m := range out.Messages {
			n++
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage() error = %v", err)
			}
		}
	}
}
