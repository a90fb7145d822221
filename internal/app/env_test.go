package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/app"
)

// lookup returns a getenv over vars.
func lookup(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestEnv(t *testing.T) {
	tests := []struct {
		name     string
		vars     map[string]string
		read     func(*app.Env) any
		want     any
		problems []string // in the error, in order; none: no error
	}{
		{"required set", map[string]string{"A": " table "}, func(e *app.Env) any { return e.Required("A") }, "table", nil},
		{"required unset", nil, func(e *app.Env) any { return e.Required("A") }, "", []string{"A is not set"}},
		{"optional unset", nil, func(e *app.Env) any { return e.Optional("A", "def") }, "def", nil},
		{"optional set", map[string]string{"A": "v"}, func(e *app.Env) any { return e.Optional("A", "def") }, "v", nil},
		{"seconds unset", nil, func(e *app.Env) any { return e.Seconds("S", 7*time.Second) }, 7 * time.Second, nil},
		{"seconds zero", map[string]string{"S": "0"}, func(e *app.Env) any { return e.Seconds("S", 7*time.Second) }, time.Duration(0), nil},
		{"seconds set", map[string]string{"S": "12"}, func(e *app.Env) any { return e.Seconds("S", 7*time.Second) }, 12 * time.Second, nil},
		{"seconds negative", map[string]string{"S": "-1"}, func(e *app.Env) any { return e.Seconds("S", 7*time.Second) }, 7 * time.Second,
			[]string{`S must be a whole number of seconds, not "-1"`}},
		{"seconds not a number", map[string]string{"S": "1.5"}, func(e *app.Env) any { return e.Seconds("S", 7*time.Second) }, 7 * time.Second,
			[]string{`S must be a whole number of seconds, not "1.5"`}},
		{"positive unset", nil, func(e *app.Env) any { return e.Positive("N", 10) }, 10, nil},
		{"positive set", map[string]string{"N": "2"}, func(e *app.Env) any { return e.Positive("N", 10) }, 2, nil},
		{"positive zero", map[string]string{"N": "0"}, func(e *app.Env) any { return e.Positive("N", 10) }, 10,
			[]string{`N must be a whole number of at least 1, not "0"`}},
		{"every problem at once", nil, func(e *app.Env) any { return e.Required("A") + e.Required("B") }, "",
			[]string{"A is not set", "B is not set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := app.Env{Getenv: lookup(tt.vars)}
			if got := tt.read(&env); got != tt.want {
				t.Errorf("value = %v, want %v", got, tt.want)
			}
			err := env.Err()
			if len(tt.problems) == 0 {
				if err != nil {
					t.Errorf("Err() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Err() = nil, want %q", tt.problems)
			}
			if want := "configuration: " + strings.Join(tt.problems, "; "); err.Error() != want {
				t.Errorf("Err() = %q, want %q", err, want)
			}
		})
	}
}

func TestRequire(t *testing.T) {
	tests := []struct {
		name     string
		settings []app.Setting
		want     string // "" for no error
	}{
		{"all set", []app.Setting{{"instances table", "t"}, {"queue URL", "q"}}, ""},
		{"one missing", []app.Setting{{"instances table", "t"}, {"queue URL", ""}}, "sync configuration: no queue URL"},
		{"all missing", []app.Setting{{"instances table", ""}, {"queue URL", ""}}, "sync configuration: no instances table, queue URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := app.Require("sync", tt.settings...)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Require() = %q, want %q", got, tt.want)
			}
		})
	}
}
