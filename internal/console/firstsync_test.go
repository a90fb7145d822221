package console_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/console"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// The instance page shows the latest plan's counts and the job's result
// once a first sync has run on the stack's backfill function.
func TestInstancePageShowsTheFirstSync(t *testing.T) {
	s := startStack(t)
	key := make([]byte, console.MinSessionKeySize)
	_, _ = rand.Read(key)
	srv := httptest.NewServer(console.New(console.Config{Ops: s.Ops, Backfill: s.Backfill, TokenHash: api.HashToken(s.Info.APIToken), SessionKey: key}))
	t.Cleanup(srv.Close)
	c := &consoleServer{Server: srv, stack: s, client: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	cookie := c.login(t)
	id := s.Info.InstanceID
	page := "/console/instances/" + id
	if _, body := c.do(t, http.MethodGet, page, nil, cookie); strings.Contains(body, `id="first-sync"`) {
		t.Error("the instance page shows a first sync before any plan")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	in, err := s.Instances.Instance(ctx, id)
	if err != nil {
		t.Fatalf("Instance() error = %v", err)
	}
	if err := s.Mailchimp.Import(in.MailchimpListID, []sbmc.ImportedMember{
		{EmailAddress: "one@example.com", MergeFields: map[string]any{"FNAME": "One", "LNAME": "Member"}},
		{EmailAddress: "two@example.com", MergeFields: map[string]any{"FNAME": "Two", "LNAME": "Member"}},
	}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	planner := *s.Backfill
	planner.Connect = (&connector.Connector{}).Backfill
	plan, err := planner.Plan(ctx, id, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	if _, err := s.Backfill.Start(ctx, id, plan.ID); err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	for {
		j, err := s.Backfill.Status(ctx, id)
		if err == nil && j.Status != backfill.JobRunning {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the job did not end: %+v, %v", j, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res, body := c.do(t, http.MethodGet, page, nil, cookie)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", page, res.StatusCode)
	}
	for _, want := range []string{
		`id="first-sync"`, `id="job-status">done<`, `id="job-progress">2 of 2<`, "2 written · 0 failed · 0 blocked",
		"<code>" + plan.ID + "</code>", "<th>" + string(apmc.PairCreateInAccessplanit) + "</th>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the instance page lacks %q", want)
		}
	}
}
