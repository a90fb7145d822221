package syncapp_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apmc-sync/apmc/internal/apmc"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
)

// bookings is one SQS batch with a booking change per User (a delegate
// webhook names its User by ID only), each in its own group.
func (b *burst) bookings(attempt int) events.SQSEvent {
	var ev events.SQSEvent
	for i, id := range b.userIDs {
		body := fmt.Sprintf(`{"id":"sha256:booking-%d","instance_id":"burst","source":"accessplanit","event":"booking","received_at":%q,"user_id":%q,"delegate_id":"%s~1","origin":"webhook"}`,
			i, time.Now().UTC().Format(time.RFC3339Nano), id, id)
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("b-%d", i), Body: body,
			Attributes: map[string]string{"MessageGroupId": "burst/" + id, "ApproximateReceiveCount": fmt.Sprint(attempt)}})
	}
	return ev
}

// TestHandleReadsABatchsDelegatesTogether hands the sync function one batch
// of booking changes of several Users, with training activity on: the
// platform is asked for the Users in one request and for their delegates in
// one more, however many Users the batch names; and every member gets its
// booking's tag.
func TestHandleReadsABatchsDelegatesTogether(t *testing.T) {
	const perBatch = 2 // GET User and GET UserCourseDate
	for _, n := range []int{3, 10} {
		var emails []string
		for i := range n {
			emails = append(emails, fmt.Sprintf("delegate%d@example.com", i))
		}
		b := newBurst(t, emails, func(in *apmc.Instance) { in.Activity = apmc.ActivitySettings{Enabled: true} })
		start := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
		for _, id := range b.userIDs {
			if _, err := b.ap.BookInUI(sbap.Booking{UserID: id, Course: "First Aid", StartDate: start}); err != nil {
				t.Fatalf("BookInUI(%s) error = %v", id, err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		before := b.ap.Stats().Requests
		res, err := b.fn.Consumer.Handle(ctx, b.bookings(1))
		cancel()
		if err != nil || len(res.BatchItemFailures) != 0 {
			t.Fatalf("Handle(%d bookings) = %+v, %v, want no failures", n, res, err)
		}
		after := b.ap.Stats().Requests
		gets := 0
		for _, key := range []string{"GET User", "GET UserCourseDate"} {
			gets += after[key] - before[key]
		}
		if gets > perBatch || after["GET UserCourseDate"]-before["GET UserCourseDate"] != 1 {
			t.Errorf("a batch of %d bookings made %d GET User and %d GET UserCourseDate requests, want at most %d in all, one of them for the delegates",
				n, after["GET User"]-before["GET User"], after["GET UserCourseDate"]-before["GET UserCourseDate"], perBatch)
		}
		for _, email := range emails {
			if m, ok := b.mc.Member(b.list, email); !ok || !slices.Contains(m.Tags, "Booked: First Aid") {
				t.Errorf("member %s = %+v, want tagged Booked: First Aid", email, m)
			}
		}
	}
}
