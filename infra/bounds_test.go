package infra

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWebhookRoutesThrottled checks that every public webhook route, and
// only those, is throttled by the stage with the two throttle parameters: a
// flood of deliveries is refused by API Gateway before it reaches a function.
func TestWebhookRoutesThrottled(t *testing.T) {
	s := mustLoadStack(t)
	var webhooks []string // route keys, "METHOD path"
	for _, id := range functionIDs {
		events, _ := s.functionProperty(id, "Events").(map[string]any)
		for _, e := range events {
			p := node(e, "Properties")
			path := render(node(p, "Path"))
			if render(node(e, "Type")) == "HttpApi" && strings.HasPrefix(path, "/webhooks/") {
				webhooks = append(webhooks, render(node(p, "Method"))+" "+path)
			}
		}
	}
	sort.Strings(webhooks)
	if len(webhooks) == 0 {
		t.Fatal("no webhook routes found")
	}
	settings, _ := node(s.properties("HttpApi"), "RouteSettings").(map[string]any)
	var throttled []string
	for key, v := range settings {
		throttled = append(throttled, key)
		want := "{ThrottlingBurstLimit: !Ref WebhookThrottleBurstLimit, ThrottlingRateLimit: !Ref WebhookThrottleRateLimit}"
		if got := render(v); got != want {
			t.Errorf("HttpApi RouteSettings[%q] = %s, want %s", key, got, want)
		}
	}
	sort.Strings(throttled)
	if diff := cmp.Diff(webhooks, throttled); diff != "" {
		t.Errorf("HttpApi RouteSettings route keys, want exactly the webhook routes (-want +got):\n%s", diff)
	}
	if got := node(s.properties("HttpApi"), "DefaultRouteSettings"); got != nil {
		t.Errorf("HttpApi DefaultRouteSettings = %s, want unset (the operator routes are IAM- or token-guarded)", render(got))
	}
}

// TestSyncConcurrencyReserved checks that the sync function reserves the
// concurrency its two event sources may use together, and no more: one
// parameter, split between them by SyncLanes (TestSyncEventSource,
// TestSyncLanes), so their maxima never exceed the reservation.
func TestSyncConcurrencyReserved(t *testing.T) {
	s := mustLoadStack(t)
	if got := render(s.functionProperty("SyncFunction", "ReservedConcurrentExecutions")); got != "!Ref SyncMaximumConcurrency" {
		t.Errorf("SyncFunction ReservedConcurrentExecutions = %s, want !Ref SyncMaximumConcurrency", got)
	}
}
