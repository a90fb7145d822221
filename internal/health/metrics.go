package health

import (
	"encoding/json"
	"io"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Namespace is the CloudWatch namespace of the metrics, and
// DimensionInstance their one dimension; template.yaml's per-instance alarm
// queries them (infra tests hold the two together).
const (
	Namespace         = "apmc"
	DimensionInstance = "InstanceId"
)

// The metrics of executions. A record counts the executions of one
// instance in one batch (Tracker.Hold) or one execution: Executions,
// Failed, Held, DeadLettered and Blocked are sums, and FailedPercent holds
// one value per execution (an array when there are several, which the
// embedded metric format allows up to 100 values), so the average of
// FailedPercent over a period is still the percentage of executions that
// failed in it.
const (
	MetricExecutions    = "Executions"
	MetricFailed        = "Failed"
	MetricHeld          = "Held"
	MetricDeadLettered  = "DeadLettered"
	MetricBlocked       = "Blocked"
	MetricFailedPercent = "FailedPercent"
)

// Metrics lists the metric names a record carries, in order.
var Metrics = []string{MetricExecutions, MetricFailed, MetricHeld, MetricDeadLettered, MetricBlocked, MetricFailedPercent}

// emfMetadata is the "_aws" member that makes a JSON log line an embedded
// metric format record.
type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// directive is the same for every record.
var directive = func() []emfDirective {
	d := emfDirective{Namespace: Namespace, Dimensions: [][]string{{DimensionInstance}}}
	for _, m := range Metrics {
		unit := "Count"
		if m == MetricFailedPercent {
			unit = "Percent"
		}
		d.Metrics = append(d.Metrics, emfMetric{Name: m, Unit: unit})
	}
	return []emfDirective{d}
}()

// record is one embedded-metric-format record: a JSON line that CloudWatch
// Logs turns into metrics.
type record map[string]any

// maxValues is the most values one metric of a record may hold.
const maxValues = 100

// tally is what the records of one instance count.
type tally struct {
	executions, failed, held, deadLettered, blocked int
	// failedPercent holds one value per execution: 100 for a final
	// failure, 0 otherwise.
	failedPercent []int
}

// addExecution counts one execution. FailedPercent counts only a final
// failure (no retry left), so the alarm on it does not fire for failures
// that a retry will still mend; Failed counts every failed execution,
// retried or not.
func (c *tally) addExecution(e apmc.Execution, o apmc.Outcome) {
	final := o == apmc.OutcomeFailed || o == apmc.OutcomeDeadLettered
	c.executions++
	c.failed += one(e.Status == apmc.StatusFailed)
	c.held += one(e.Status == apmc.StatusHeld)
	c.deadLettered += one(o == apmc.OutcomeDeadLettered)
	c.blocked += one(e.Status == apmc.StatusBlocked)
	c.failedPercent = append(c.failedPercent, 100*one(final))
}

// records are the embedded-metric-format records of an instance's tally:
// one, or more when it holds more than maxValues executions. A tally of
// dead letters alone (changes handed back unapplied, with no execution)
// names only DeadLettered, so the averages of the other metrics are not
// diluted.
func (c tally) records(at time.Time, instanceID string) []record {
	if c.executions == 0 {
		return []record{{
			"msg": "dead letter metrics",
			"_aws": emfMetadata{Timestamp: at.UnixMilli(), CloudWatchMetrics: []emfDirective{{
				Namespace: Namespace, Dimensions: [][]string{{DimensionInstance}},
				Metrics: []emfMetric{{Name: MetricDeadLettered, Unit: "Count"}},
			}}},
			DimensionInstance:  instanceID,
			MetricDeadLettered: c.deadLettered,
		}}
	}
	var out []record
	for start := 0; start < len(c.failedPercent); start += maxValues {
		values := c.failedPercent[start:min(start+maxValues, len(c.failedPercent))]
		r := record{
			"msg":               "execution metrics",
			"_aws":              emfMetadata{Timestamp: at.UnixMilli(), CloudWatchMetrics: directive},
			DimensionInstance:   instanceID,
			MetricExecutions:    len(values),
			MetricFailed:        0,
			MetricHeld:          0,
			MetricDeadLettered:  0,
			MetricBlocked:       0,
			MetricFailedPercent: values,
		}
		if start == 0 { // the sums go in the first record
			r[MetricFailed], r[MetricHeld], r[MetricDeadLettered], r[MetricBlocked] = c.failed, c.held, c.deadLettered, c.blocked
		}
		if len(values) == 1 {
			r[MetricFailedPercent] = values[0]
		}
		out = append(out, r)
	}
	return out
}

func one(b bool) int {
	if b {
		return 1
	}
	return 0
}

// emit writes records, one line each, to Metrics (standard output by
// default), where the function's logs go, but not through the logger: a
// LogLevel above INFO must not silence the alarm's data. The caller holds
// t.out.
func (t *Tracker) emit(rs []record) {
	var w io.Writer = os.Stdout
	if t.Metrics != nil {
		w = t.Metrics
	}
	for _, r := range rs {
		line, err := json.Marshal(r)
		if err != nil {
			continue // a record of numbers and strings always encodes
		}
		_, _ = w.Write(append(line, '\n'))
	}
}

// count adds to the instance's tally: held until the last Hold is
// released, written at once when none is.
func (t *Tracker) count(at time.Time, instanceID string, add func(*tally)) {
	t.out.Lock()
	defer t.out.Unlock()
	if t.holds == 0 {
		var c tally
		add(&c)
		t.emit(c.records(at, instanceID))
		return
	}
	if t.pending == nil {
		t.pending = map[string]*tally{}
	}
	c := t.pending[instanceID]
	if c == nil {
		c = &tally{}
		t.pending[instanceID] = c
	}
	add(c)
}

// Hold keeps the metric records until release is called, then writes one
// record per instance for everything counted meanwhile. The sync function
// holds them for a batch: a record per instance per batch rather than per
// execution cuts the bytes CloudWatch Logs ingests. Holds may overlap (the
// local stack applies batches at once); the records are written when the
// last is released.
func (t *Tracker) Hold() (release func()) {
	t.out.Lock()
	t.holds++
	t.out.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.out.Lock()
			defer t.out.Unlock()
			t.holds--
			if t.holds > 0 {
				return
			}
			now := t.now()
			for _, id := range slices.Sorted(maps.Keys(t.pending)) {
				t.emit(t.pending[id].records(now, id))
			}
			t.pending = nil
		})
	}
}
