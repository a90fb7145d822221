package health

import (
	"encoding/json"
	"io"
	"os"
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

// The metrics of one execution. Each record counts one execution, so the
// average of FailedPercent over a period is the percentage of executions
// that failed in it.
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

// executionRecord is the record of one execution. FailedPercent counts
// only a final failure (no retry left), so the alarm on it does not fire
// for failures that a retry will still mend; Failed counts every failed
// execution, retried or not.
func executionRecord(at time.Time, e apmc.Execution, o apmc.Outcome) record {
	final := o == apmc.OutcomeFailed || o == apmc.OutcomeDeadLettered
	return record{
		"msg":               "execution metrics",
		"_aws":              emfMetadata{Timestamp: at.UnixMilli(), CloudWatchMetrics: directive},
		DimensionInstance:   e.InstanceID,
		MetricExecutions:    1,
		MetricFailed:        one(e.Status == apmc.StatusFailed),
		MetricHeld:          one(e.Status == apmc.StatusHeld),
		MetricDeadLettered:  one(o == apmc.OutcomeDeadLettered),
		MetricBlocked:       one(e.Status == apmc.StatusBlocked),
		MetricFailedPercent: 100 * one(final),
	}
}

// deadLetterRecord is the record of a change handed back unapplied on its
// last receive: no execution, one dead letter. It names only
// DeadLettered, so the averages of the other metrics are not diluted.
func deadLetterRecord(at time.Time, instanceID string) record {
	return record{
		"msg": "dead letter metrics",
		"_aws": emfMetadata{Timestamp: at.UnixMilli(), CloudWatchMetrics: []emfDirective{{
			Namespace: Namespace, Dimensions: [][]string{{DimensionInstance}},
			Metrics: []emfMetric{{Name: MetricDeadLettered, Unit: "Count"}},
		}}},
		DimensionInstance:  instanceID,
		MetricDeadLettered: 1,
	}
}

func one(b bool) int {
	if b {
		return 1
	}
	return 0
}

// emit writes a record as one line to Metrics (standard output by
// default), where the function's logs go, but not through the logger: a
// LogLevel above INFO must not silence the alarm's data.
func (t *Tracker) emit(r record) {
	line, err := json.Marshal(r)
	if err != nil {
		return // a record of numbers and strings always encodes
	}
	line = append(line, '\n')
	var w io.Writer = os.Stdout
	if t.Metrics != nil {
		w = t.Metrics
	}
	t.out.Lock()
	defer t.out.Unlock()
	_, _ = w.Write(line)
}
