package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/ops"
)

// TestNotificationURLAndHealth sets, shows (as set, never the URL) and
// clears an instance's notification URL, refuses plain http to another
// host, and reads the health of one instance and of all.
func TestNotificationURLAndHealth(t *testing.T) {
	s := startStack(t)
	id := s.Info.InstanceID
	const url = "https://hooks.example.com/services/T0/B0/cli-secret-part"

	if _, _, err := s.apmc(t, "instance", "configure", id, "--notification-url", "http://hooks.example.com/services/T0/B0/cli-secret-part"); err == nil || !strings.Contains(err.Error(), "https") || strings.Contains(err.Error(), "cli-secret-part") {
		t.Errorf("configure --notification-url http://… error = %v, want https asked for without the URL repeated", err)
	}
	s.must(t, "instance", "configure", id, "--notification-url", url)
	in, err := s.Instances.Instance(context.Background(), id)
	if err != nil {
		t.Fatalf("Instance(%s) error = %v", id, err)
	}
	if in.Secrets.NotificationURL != url || !in.NotificationURLSet {
		t.Fatalf("stored notification URL kept %t, set %t; want both", in.Secrets.NotificationURL == url, in.NotificationURLSet)
	}
	for _, args := range [][]string{{"instance", "show", id}, {"instance", "show", id, "--json"}, {"health", id}, {"health"}, {"health", "--json"}} {
		out := s.must(t, args...)
		if strings.Contains(out, "cli-secret-part") {
			t.Errorf("apmc %s shows the notification URL:\n%s", strings.Join(args, " "), out)
		}
	}
	if out := s.must(t, "instance", "show", id); !strings.Contains(out, "notification URL") || !strings.Contains(out, "set") {
		t.Errorf("instance show = %q, want the notification URL said to be set", out)
	}

	var one ops.Health
	if err := json.Unmarshal([]byte(s.must(t, "health", id, "--json")), &one); err != nil {
		t.Fatalf("health ID --json does not decode: %v", err)
	}
	if one.InstanceID != id || !one.NotificationURLSet || one.Failing {
		t.Errorf("health %s --json = %+v, want healthy with a notification URL set", id, one)
	}
	var all []ops.Health
	if err := json.Unmarshal([]byte(s.must(t, "health", "--json")), &all); err != nil || len(all) == 0 {
		t.Fatalf("health --json = %v, %v; want every instance", all, err)
	}
	if out := s.must(t, "health", id); !strings.Contains(out, id) || !strings.Contains(out, "healthy") {
		t.Errorf("health %s = %q, want the instance healthy", id, out)
	}
	if _, _, err := s.apmc(t, "health", id, "other"); err == nil {
		t.Error("health with two arguments succeeded, want it refused")
	}

	// From the environment, out of the shell's history; the flag wins.
	const fromEnv = "https://hooks.example.com/services/T0/B0/env-secret-part"
	t.Setenv("APMC_NOTIFICATION_URL", fromEnv)
	s.must(t, "instance", "configure", id, "--name", "Renamed")
	if in, err = s.Instances.Instance(context.Background(), id); err != nil || in.Secrets.NotificationURL != fromEnv {
		t.Errorf("after configure with APMC_NOTIFICATION_URL set: URL from the environment kept %t (%v), want it", in.Secrets.NotificationURL == fromEnv, err)
	}
	s.must(t, "instance", "configure", id, "--notification-url", "")
	var cleared ops.Health
	if err := json.Unmarshal([]byte(s.must(t, "health", id, "--json")), &cleared); err != nil {
		t.Fatalf("health ID --json does not decode: %v", err)
	}
	if cleared.NotificationURLSet {
		t.Errorf("after --notification-url '': health says a notification URL is set")
	}
}
