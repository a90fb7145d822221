package syncapp_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/dynamo"
)

// handle hands the sync function one SQS batch of the change, queued in
// the contact's group as the ingest queues it, and returns its execution.
func (b *burst) handle(t *testing.T, c apmc.Change) apmc.Execution {
	t.Helper()
	body, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("encode change %s: %v", c.ID, err)
	}
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-" + c.ID, Body: string(body),
		Attributes: map[string]string{"MessageGroupId": "burst/" + c.Email, "ApproximateReceiveCount": "1"}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := b.fn.Consumer.Handle(ctx, ev); err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle(%s) = %+v, %v, want no failures", c.ID, res, err)
	}
	list, _, err := dynamo.NewExecutionStore(b.d.Clients.DynamoDB, b.d.Tables.Executions).Executions(ctx, "burst", apmc.ExecutionQuery{Limit: 100})
	if err != nil {
		t.Fatalf("Executions() error = %v", err)
	}
	for _, e := range list {
		if e.ChangeID == c.ID {
			return e
		}
	}
	t.Fatalf("no execution of change %s", c.ID)
	return apmc.Execution{}
}

// delivery is the accessplanit webhook the platform sends for the User as
// it holds it now, parsed as the ingest parses it.
func (b *burst) delivery(t *testing.T, id, userID string) apmc.Change {
	t.Helper()
	u, ok := b.ap.User(userID)
	if !ok {
		t.Fatalf("no accessplanit User %s", userID)
	}
	body, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	c, err := accessplanit.ParseWebhook(http.MethodPut, body, "burst", time.Now())
	if err != nil {
		t.Fatalf("ParseWebhook() error = %v", err)
	}
	c.ID = id
	return c
}

// TestTagEditIsNotTakenForAPendingEcho: the service writes a User (a
// marketer edited the member in Mailchimp), and staff edit only the User's
// tags in accessplanit before the write's own webhook came in. The edit's
// webhook is applied first: its tags reach Mailchimp at once, and the
// write's webhook after it is still suppressed as the echo, on its claim
// (no read_user step), writing nothing.
func TestTagEditIsNotTakenForAPendingEcho(t *testing.T) {
	const email = "ada@example.com"
	b := newBurst(t, []string{"gone@example.com", email}, func(in *apmc.Instance) {
		in.Tags = apmc.TagSettings{Sync: true}
		in.AccessplanitUserID = "9000" // the burst's API key's owner
	})
	id := b.userIDs[1]
	if err := b.ap.EditUserInUI(id, map[string]any{"Tags": "Gold"}); err != nil {
		t.Fatal(err)
	}
	if e := b.handle(t, b.delivery(t, "first", id)); e.Status != apmc.StatusSucceeded {
		t.Fatalf("first sync = %s %q", e.Status, e.Error)
	}

	if err := b.mc.EditMemberInUI(b.list, email, map[string]any{"FNAME": "Augusta"}, "user"); err != nil {
		t.Fatal(err)
	}
	e := b.handle(t, apmc.Change{ID: "profile", InstanceID: "burst", Source: apmc.SideMailchimp, Event: apmc.EventProfile, ReceivedAt: time.Now(), Email: email, Origin: apmc.OriginWebhook})
	if e.Status != apmc.StatusSucceeded || !e.Changed {
		t.Fatalf("Mailchimp edit = %s changed=%v %q, want the User written", e.Status, e.Changed, e.Error)
	}
	echo := b.delivery(t, "echo", id)

	if err := b.ap.EditUserInUI(id, map[string]any{"Tags": "Gold, Silver"}); err != nil {
		t.Fatal(err)
	}
	e = b.handle(t, b.delivery(t, "staff-edit", id))
	m, _ := b.mc.Member(b.list, email)
	if e.Status != apmc.StatusSucceeded || !e.Changed || !slices.Contains(m.Tags, "Silver") {
		t.Errorf("tag edit while the echo is pending = %s changed=%v %q; member tags %q, want Silver added", e.Status, e.Changed, e.Reason, m.Tags)
	}

	apWrites, mcRequests := b.ap.Stats().Writes, b.mc.Stats().Requests
	e = b.handle(t, echo)
	if e.Status != apmc.StatusSuppressed || e.Changed {
		t.Errorf("the write's own webhook = %s changed=%v %q, want suppressed as its echo", e.Status, e.Changed, e.Reason)
	}
	if n := b.ap.Stats().Writes - apWrites; n != 0 {
		t.Errorf("the echo made %d accessplanit writes, want none", n)
	}
	if got := b.mc.Stats().Requests; !maps.Equal(got, mcRequests) {
		t.Errorf("Mailchimp requests after the echo = %v, before %v; want none made", got, mcRequests)
	}
	if i := slices.IndexFunc(e.Steps, func(s apmc.Step) bool { return s.Name == "read_user" }); i >= 0 {
		t.Errorf("the echo's steps hold read_user %v, want it suppressed on its claim", e.Steps[i].Output)
	}
}
