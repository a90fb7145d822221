package loadtest_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/loadtest"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// changeKind is one kind of User change, as made in accessplanit's UI (its
// webhook goes to the stack), that the sync turns into Mailchimp calls.
type changeKind struct {
	name string
	// prepare, when set, is applied (and not counted) before edit; both
	// give the change of a User at round r (from 1).
	prepare, edit func(r int) map[string]any
	// prepared and check say what is wrong with the member after the
	// prepare and the edit of round r, the instance's tag prefix being p.
	prepared, check func(m sbmc.Member, r int, p string) string
}

// changeKinds are the kinds measured: a mapped field, a tag added, a tag
// taken off (one the service added blind), a field and a tag added
// together, a field and a tag (added blind) taken off together.
var changeKinds = []changeKind{
	{
		name: "fields-only",
		edit: func(r int) map[string]any { return map[string]any{"Forenames": fmt.Sprintf("Load %d", r)} },
		check: func(m sbmc.Member, r int, p string) string {
			return wantMerge(m, "FNAME", fmt.Sprintf("Load %d", r))
		},
	},
	{
		name: "tags-only-added",
		edit: func(r int) map[string]any { return map[string]any{"Tags": tagsUpTo("Added", r)} },
		check: func(m sbmc.Member, r int, p string) string {
			return wantTags(m, p, strings.Split(tagsUpTo("Added", r), ", "))
		},
	},
	{
		name:    "tags-only-removed",
		prepare: func(r int) map[string]any { return map[string]any{"Tags": fmt.Sprintf("Removed %d", r)} },
		prepared: func(m sbmc.Member, r int, p string) string {
			return wantTags(m, p, []string{fmt.Sprintf("Removed %d", r)})
		},
		edit:  func(int) map[string]any { return map[string]any{"Tags": ""} },
		check: func(m sbmc.Member, _ int, p string) string { return wantTags(m, p, nil) },
	},
	{
		name: "fields-and-tags",
		edit: func(r int) map[string]any {
			return map[string]any{"Forenames": fmt.Sprintf("Both %d", r), "Tags": tagsUpTo("Both", r)}
		},
		check: func(m sbmc.Member, r int, p string) string {
			if why := wantMerge(m, "FNAME", fmt.Sprintf("Both %d", r)); why != "" {
				return why
			}
			return wantTags(m, p, strings.Split(tagsUpTo("Both", r), ", "))
		},
	},
	{
		name:    "fields-and-tag-removed",
		prepare: func(r int) map[string]any { return map[string]any{"Tags": fmt.Sprintf("Dropped %d", r)} },
		prepared: func(m sbmc.Member, r int, p string) string {
			return wantTags(m, p, []string{fmt.Sprintf("Dropped %d", r)})
		},
		edit: func(r int) map[string]any {
			return map[string]any{"Forenames": fmt.Sprintf("Dropped %d", r), "Tags": ""}
		},
		check: func(m sbmc.Member, r int, p string) string {
			if why := wantMerge(m, "FNAME", fmt.Sprintf("Dropped %d", r)); why != "" {
				return why
			}
			return wantTags(m, p, nil)
		},
	},
}

// tagsUpTo is the Tags value "<name> 1, …, <name> r".
func tagsUpTo(name string, r int) string {
	tags := make([]string, r)
	for i := range tags {
		tags[i] = fmt.Sprintf("%s %d", name, i+1)
	}
	return strings.Join(tags, ", ")
}

func wantMerge(m sbmc.Member, tag, want string) string {
	if got := fmt.Sprint(m.MergeFields[tag]); got != want {
		return fmt.Sprintf("%s = %q, want %q", tag, got, want)
	}
	return ""
}

// wantTags says what is wrong with m's tags when they are not want, each
// under the prefix p.
func wantTags(m sbmc.Member, p string, want []string) string {
	want = slices.Clone(want)
	for i := range want {
		want[i] = p + want[i]
	}
	if !slices.Equal(m.Tags, want) && len(m.Tags)+len(want) > 0 {
		return fmt.Sprintf("tags %q, want %q", m.Tags, want)
	}
	return ""
}

// changeCalls are the Mailchimp requests a round of changes made, per
// changed contact.
type changeCalls struct {
	contacts int
	// total counts every request; reads the GETs (member or tags), member
	// writes the PUTs, PATCHes and batch subscribes (one per call, however
	// many members it carries), tag writes the POST …/tags.
	total, reads, memberWrites, tagWrites float64
}

// contacts makes n Users in the accessplanit simulator, silently, and
// syncs each to Mailchimp with its webhook; it returns their IDs.
func (e *env) contacts(tb testing.TB, first, n int) []string {
	tb.Helper()
	mc := e.stack.Mailchimp
	base := mc.Stats().MembersWritten
	ids := make([]string, n)
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range n {
		req, err := e.deliveryRequest(first + i)
		if err != nil {
			tb.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			tb.Fatalf("deliver User %d: %v", first+i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			tb.Fatalf("deliver User %d: %s, want 202", first+i, resp.Status)
		}
		if ids[i], err = e.user(first + i); err != nil {
			tb.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for mc.Stats().MembersWritten-base < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d new contacts written to Mailchimp after 60 s", mc.Stats().MembersWritten-base, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.settle(tb, time.Second, 60*time.Second)
	return ids
}

// editAll makes a change to every User in accessplanit's UI and waits
// until the stack has applied them all: until done says nothing is wrong
// with any member and the stack is quiet.
func (e *env) editAll(tb testing.TB, ids []string, first int, change map[string]any, done func(sbmc.Member) string) {
	tb.Helper()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if err := e.stack.Accessplanit.EditUserInUI(id, change); err != nil {
				tb.Errorf("EditUserInUI(%s, %v) error = %v", id, change, err)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := e.stack.Accessplanit.WaitWebhooks(ctx); err != nil {
		tb.Fatalf("accessplanit webhooks: %v", err)
	}
	list := e.stack.Info.Sandbox.Mailchimp.ListID
	for i := range ids {
		email := loadtest.UserEmail(first + i)
		for why := "missing"; why != ""; {
			m, ok := e.stack.Mailchimp.Member(list, email)
			if why = "missing"; ok {
				why = done(m)
			}
			if why != "" && ctx.Err() != nil {
				tb.Fatalf("member %s after %v: %s", email, change, why)
			}
			if why != "" {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	// Every change applied: only echoes are left.
	e.settle(tb, 300*time.Millisecond, 60*time.Second)
}

// measureChanges makes one round (r) of kind k's change to the Users ids
// (numbered from first) and counts the Mailchimp requests it took; it
// fails when a member does not end as the change says. prefix is the
// instance's tag prefix.
func measureChanges(tb testing.TB, e *env, k changeKind, ids []string, first, r int, prefix string) changeCalls {
	tb.Helper()
	if k.prepare != nil {
		e.editAll(tb, ids, first, k.prepare(r), func(m sbmc.Member) string { return k.prepared(m, r, prefix) })
	}
	mc := e.stack.Mailchimp
	before := mc.Stats()
	e.editAll(tb, ids, first, k.edit(r), func(m sbmc.Member) string { return k.check(m, r, prefix) })
	after := mc.Stats()
	per := func(x int) float64 { return float64(x) / float64(len(ids)) }
	total := 0
	for method, c := range after.Requests {
		total += c - before.Requests[method]
	}
	return changeCalls{
		contacts:     len(ids),
		total:        per(total),
		reads:        per(after.Requests[http.MethodGet] - before.Requests[http.MethodGet]),
		memberWrites: per(after.MemberWrites - before.MemberWrites),
		tagWrites:    per(after.TagWrites - before.TagWrites),
	}
}

// tagPrefix is the tag prefix of the instance in the prefixed runs: the
// tags under it are the service's, so none needs its dates read before it
// is taken off.
const tagPrefix = "ap: "

// prefixed says whether a run of kind k under a tag prefix is measured too:
// the kinds whose tags are added or taken off without a member write.
func (k changeKind) prefixed() bool {
	return strings.Contains(k.name, "tag") && k.name != "fields-and-tags"
}

// setTagPrefix gives the stack's demo instance the tag prefix p.
func (e *env) setTagPrefix(tb testing.TB, p string) {
	tb.Helper()
	ctx := context.Background()
	in, err := e.stack.Instances.Instance(ctx, e.stack.Info.InstanceID)
	if err != nil {
		tb.Fatalf("Instance() error = %v", err)
	}
	in.Tags.Prefix = p
	if err := in.Validate(); err != nil {
		tb.Fatalf("Validate() error = %v", err)
	}
	if err := e.stack.Instances.Update(ctx, in); err != nil {
		tb.Fatalf("Update() error = %v", err)
	}
	e.stack.Cache.Forget(in.ID)
}

// BenchmarkChangesToMailchimp reports the Mailchimp requests per changed
// contact of each kind of User change (changeKinds), made in accessplanit's UI for
// 200 synced contacts at once, with the simulator at L = 100 ms and its
// 10-connection cap; the kinds that take tags off are measured under a tag
// prefix too ("-prefixed"). Member writes of one SQS batch share batch
// subscribe calls, so the fields-only figure may be below 1; tag writes are
// one call per member.
func BenchmarkChangesToMailchimp(b *testing.B) {
	const n = 200
	for i, k := range changeKinds {
		for _, prefix := range []string{"", tagPrefix} {
			name := k.name
			if prefix != "" {
				if !k.prefixed() {
					continue
				}
				name += "-prefixed"
			}
			b.Run(name, func(b *testing.B) {
				e := startStack(b, throughputConfig())
				e.setTagPrefix(b, prefix)
				e.stack.Mailchimp.SetLatency(mailchimpLatency)
				first := i * n
				ids := e.contacts(b, first, n)
				var c changeCalls
				r := 0
				for b.Loop() {
					r++
					c = measureChanges(b, e, k, ids, first, r, prefix)
				}
				b.ReportMetric(c.total, "mailchimp-req/contact")
				b.ReportMetric(c.reads, "gets/contact")
				b.ReportMetric(c.memberWrites, "member-writes/contact")
				b.ReportMetric(c.tagWrites, "tag-posts/contact")
			})
		}
	}
}

// callBound bounds the Mailchimp requests per changed contact.
type callBound struct{ total, reads, tagWrites float64 }

// TestChangeCallCounts holds each kind of User change to its Mailchimp
// calls: a field change at most one per contact (batch calls carry
// several), a tag added one (no read first), a tag the service added
// blind taken off two (its date read, then the write), a field and a tag
// added together at most two, a field and a blind tag taken off at most
// three. Under a tag prefix, whose tags are the service's, a tag taken off
// is one call, and with a field at most two.
func TestChangeCallCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("syncs 240 contacts; skipped with -short")
	}
	const n = 30
	type bounds map[string]struct{ lo, hi callBound }
	for _, run := range []struct {
		prefix string
		want   bounds
	}{
		{"", bounds{
			"fields-only":       {hi: callBound{total: 1}},
			"tags-only-added":   {lo: callBound{1, 0, 1}, hi: callBound{1, 0, 1}},
			"tags-only-removed": {lo: callBound{2, 1, 1}, hi: callBound{2, 1, 1}},
			"fields-and-tags":   {lo: callBound{tagWrites: 1}, hi: callBound{total: 2, tagWrites: 1}},
			// The member answer names its tags but not their dates.
			"fields-and-tag-removed": {lo: callBound{reads: 1, tagWrites: 1}, hi: callBound{total: 3, reads: 1, tagWrites: 1}},
		}},
		{tagPrefix, bounds{
			"tags-only-added":        {lo: callBound{1, 0, 1}, hi: callBound{1, 0, 1}},
			"tags-only-removed":      {lo: callBound{1, 0, 1}, hi: callBound{1, 0, 1}},
			"fields-and-tag-removed": {lo: callBound{tagWrites: 1}, hi: callBound{total: 2, tagWrites: 1}},
		}},
	} {
		name := "unprefixed"
		if run.prefix != "" {
			name = "prefixed"
		}
		t.Run(name, func(t *testing.T) {
			e := startStack(t, throughputConfig())
			e.setTagPrefix(t, run.prefix)
			all := e.contacts(t, 0, n*len(changeKinds))
			for i, k := range changeKinds {
				w, ok := run.want[k.name]
				if !ok {
					continue
				}
				ids := all[i*n : (i+1)*n]
				for r := 1; r <= 2; r++ {
					c := measureChanges(t, e, k, ids, i*n, r, run.prefix)
					t.Logf("%s round %d: per contact %.2f requests (%.2f GET, %.2f member writes, %.2f tag POSTs)", k.name, r, c.total, c.reads, c.memberWrites, c.tagWrites)
					for _, x := range []struct {
						what      string
						got       float64
						low, high float64
					}{
						{"requests", c.total, w.lo.total, w.hi.total},
						{"GETs", c.reads, w.lo.reads, w.hi.reads},
						{"tag POSTs", c.tagWrites, w.lo.tagWrites, w.hi.tagWrites},
					} {
						if x.got < x.low || x.got > x.high {
							t.Errorf("%s round %d: %s per contact = %.2f, want %.2f to %.2f", k.name, r, x.what, x.got, x.low, x.high)
						}
					}
					if k.name != "tags-only-added" && k.name != "tags-only-removed" && c.memberWrites == 0 {
						t.Errorf("%s round %d: no member write", k.name, r)
					}
				}
			}
		})
	}
}
