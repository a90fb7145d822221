package local_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/connector"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// A first sync started through the API runs as a job on the stack's own
// backfill function and ends done, the audience's member created in
// accessplanit.
func TestBackfillJobThroughTheAPI(t *testing.T) {
	s := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	in, err := s.Instances.Instance(ctx, s.Info.InstanceID)
	if err != nil {
		t.Fatalf("Instance() error = %v", err)
	}
	if err := s.Mailchimp.Import(in.MailchimpListID, []sbmc.ImportedMember{
		{EmailAddress: "existing@example.com", MergeFields: map[string]any{"FNAME": "Existing", "LNAME": "Member"}},
	}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	planner := *s.Backfill
	planner.Connect = (&connector.Connector{}).Backfill
	plan, err := planner.Plan(ctx, in.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	if plan.Counts[apmc.PairCreateInAccessplanit] != 1 {
		t.Fatalf("plan counts = %v, want one create_in_accessplanit", plan.Counts)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.Info.APIURL+"instances/"+in.ID+"/backfill", strings.NewReader(`{"plan_id":"`+plan.ID+`"}`))
	req.Header.Set("Authorization", "Bearer "+s.Info.APIToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST backfill error = %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST backfill = %d, want 202", res.StatusCode)
	}
	for {
		j, err := s.Backfill.Status(ctx, in.ID)
		if err == nil && j.Status != backfill.JobRunning {
			if j.Status != backfill.JobDone || j.Done != 1 || j.Result == nil || j.Result.Written != 1 {
				t.Fatalf("job = %+v (result %+v), want done with the one contact written", j, j.Result)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the job did not end: %+v, %v", j, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	found := false
	for _, u := range s.Accessplanit.Users() {
		if e, _ := u["Email"].(string); strings.EqualFold(e, "existing@example.com") {
			found = true
		}
	}
	if !found {
		t.Error("the member was not created in accessplanit")
	}
}
