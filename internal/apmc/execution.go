package apmc

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// Status is the outcome of an execution.
type Status string

// Execution statuses.
const (
	StatusSucceeded  Status = "succeeded"
	StatusFailed     Status = "failed"
	StatusSuppressed Status = "suppressed" // an echo of the service's own write
	StatusSkipped    Status = "skipped"    // nothing to do, with a reason
	StatusHeld       Status = "held"       // instance paused; applied on resume
)

// Execution records one attempt to apply one change.
type Execution struct {
	ID         string `json:"id"` // ULID: time-ordered
	InstanceID string `json:"instance_id"`
	ChangeID   string `json:"change_id"`
	Flow       Flow   `json:"flow"`
	Event      Event  `json:"event"`
	Origin     Origin `json:"origin"`
	Attempt    int    `json:"attempt"`
	// OriginalID is the first attempt's execution for retries and the
	// replayed execution for replays.
	OriginalID    string    `json:"original_id,omitempty"`
	Status        Status    `json:"status"`
	Changed       bool      `json:"changed"` // the trigger carried a change worth writing
	Contact       string    `json:"contact"`
	Reason        string    `json:"reason,omitempty"`
	Error         string    `json:"error"`
	Retryable     bool      `json:"retryable,omitempty"` // failed, and the queue will try again
	ConfigVersion int       `json:"config_version"`
	StartedAt     time.Time `json:"started_at"`
	FinishedAt    time.Time `json:"finished_at"`
	Steps         []Step    `json:"steps"`
	Logs          []LogLine `json:"logs"`
	ExpiresAt     time.Time `json:"expires_at"`
	// Change is the change the execution applied, kept so it can be replayed
	// (and, while the instance is paused, applied on resume).
	Change *Change `json:"change,omitempty"`
}

// Step is one stage of an execution with its (redacted) output.
type Step struct {
	Name       string         `json:"name"`
	Status     string         `json:"status"` // ok | failed | skipped | blocked (a write Mailchimp refused for what the contact is)
	Output     map[string]any `json:"output,omitempty"`
	Error      string         `json:"error,omitempty"`
	DurationMS int64          `json:"duration_ms"`
}

// LogLine is one line of an execution's log.
type LogLine struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"` // debug | info | warn | error
	Message string    `json:"message"`
}

// NewExecutionID returns a fresh time-ordered execution id.
func NewExecutionID(now time.Time) string {
	return ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()
}

// FirstExecutionID is the id of the execution of a change's first attempt.
// It is derived from the change, so later attempts can link to it without
// a look-up.
func FirstExecutionID(c Change) string {
	sum := sha256.Sum256([]byte(c.InstanceID + "|" + c.ID))
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(c.ReceivedAt))
	_ = id.SetEntropy(sum[:10])
	return id.String()
}

// recorder builds an execution while the engine works.
type recorder struct {
	exec    *Execution
	now     func() time.Time
	secrets []string
	// since is, when an earlier attempt of the change may have written to
	// Mailchimp already (a retry, or a replay), a time no later than any
	// of those writes; zero on a first attempt.
	since time.Time
	// lastReceive says no receive of the change follows this one.
	lastReceive bool
}

func (r *recorder) logf(level, format string, args ...any) {
	r.exec.Logs = append(r.exec.Logs, LogLine{Time: r.now().UTC(), Level: level, Message: r.redact(fmt.Sprintf(format, args...))})
}

// step runs fn as a named step and records its outcome and output.
func (r *recorder) step(name string, fn func(out map[string]any) error) error {
	start := r.now()
	out := map[string]any{}
	err := fn(out)
	s := Step{Name: name, Status: "ok", DurationMS: r.now().Sub(start).Milliseconds()}
	if len(out) > 0 {
		s.Output = r.redactMap(out)
	}
	if err != nil {
		s.Status = "failed"
		s.Error = r.redact(err.Error())
	}
	r.exec.Steps = append(r.exec.Steps, s)
	return err
}

// redact replaces every secret value in s.
func (r *recorder) redact(s string) string { return Redact(s, r.secrets) }

func (r *recorder) redactMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = r.redact(x)
		case Values:
			vv := make(map[string]string, len(x))
			for tag, val := range x {
				vv[tag] = r.redact(val)
			}
			out[k] = vv
		case map[string]string:
			vv := make(map[string]string, len(x))
			for f, val := range x {
				vv[f] = r.redact(val)
			}
			out[k] = vv
		default:
			out[k] = v
		}
	}
	return out
}

// Redact replaces each of the secret values found in s with "[redacted]".
func Redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// compact is the execution of a suppressed echo as recorded: as many as the
// service's writes, they are kept under DynamoDB's 1 KB write unit by
// leaving out what only a real change needs: the change's details beyond
// its ids and email (never used again: a replay reads both sides back), the
// steps' outputs and the log line that repeats the reason. The steps, the
// rest of the log, the contact and the reason stay.
func (e Execution) compact() Execution {
	if e.Change != nil {
		c := Change{ID: e.Change.ID, InstanceID: e.Change.InstanceID, Source: e.Change.Source, Event: e.Change.Event,
			ReceivedAt: e.Change.ReceivedAt, Email: e.Change.Email, UserID: e.Change.UserID,
			Origin: e.Change.Origin, OriginalExecutionID: e.Change.OriginalExecutionID}
		e.Change = &c
	}
	steps := make([]Step, len(e.Steps))
	for i, s := range e.Steps {
		s.Output = nil
		steps[i] = s
	}
	e.Steps = steps
	reasonLine := fmt.Sprintf("%s: %s", e.Status, e.Reason)
	logs := make([]LogLine, 0, len(e.Logs))
	for _, l := range e.Logs {
		if l.Message != reasonLine {
			logs = append(logs, l)
		}
	}
	e.Logs = logs
	return e
}
