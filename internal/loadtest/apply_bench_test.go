package loadtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// BenchmarkApplyToMailchimp measures the engine applying one accessplanit
// change: reading the User back from the accessplanit simulator (one
// request: a change applied on its own, not batched), with the contact state
// and executions on kumo (DynamoDB) and both simulators at zero latency. "changed"
// alternates a mapped field, so every change is one Mailchimp write;
// "unchanged" alters an unmapped field, so nothing is written to Mailchimp.
func BenchmarkApplyToMailchimp(b *testing.B) {
	for _, tt := range []struct {
		name   string
		change func(i int) map[string]string
		writes bool
	}{
		{name: "changed", writes: true, change: func(i int) map[string]string {
			return map[string]string{"Forenames": fmt.Sprintf("Ada %d", i%2)}
		}},
		{name: "unchanged", change: func(i int) map[string]string {
			return map[string]string{"JobTitle": fmt.Sprintf("Analyst %d", i)}
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			p := newParts(b)
			e := p.engine(b)
			ctx := context.Background()
			id, err := p.accessplanit.AddUser(map[string]any{"Forenames": "Ada", "Surname": "Lovelace", "Email": "ada@example.com",
				"Phone": "+44 20 7946 0000", "MainCompanyID": p.instance.DefaultCompanyID})
			if err != nil {
				b.Fatalf("AddUser() error = %v", err)
			}
			apply := func(i int) apmc.Execution {
				edit := map[string]any{}
				for k, v := range tt.change(i) {
					edit[k] = v
				}
				if err := p.accessplanit.EditUserInUI(id, edit); err != nil {
					b.Fatalf("EditUserInUI() error = %v", err)
				}
				exec, err := e.Apply(ctx, apmc.Delivery{Attempt: 1, Change: apmc.Change{
					ID: fmt.Sprintf("bench-%d", i), InstanceID: p.instance.ID, Source: apmc.SideAccessplanit, Event: apmc.EventUpdated,
					ReceivedAt: time.Now(), UserID: id,
				}})
				if err != nil || exec.Status != apmc.StatusSucceeded {
					b.Fatalf("Apply(%d) = %s %q, %v; want succeeded", i, exec.Status, exec.Error, err)
				}
				return exec
			}
			apply(0) // the contact exists before the measurement
			writes := p.mailchimp.Stats().MemberWrites
			b.ReportAllocs()
			i := 1
			for b.Loop() {
				if exec := apply(i); exec.Changed != tt.writes {
					b.Fatalf("Apply(%d) changed = %v, want %v", i, exec.Changed, tt.writes)
				}
				i++
			}
			got, n := p.mailchimp.Stats().MemberWrites-writes, i-1
			if want := map[bool]int{true: n, false: 0}[tt.writes]; got != want {
				b.Fatalf("Mailchimp member writes = %d for %d changes, want %d", got, n, want)
			}
		})
	}
}
