package health

import (
	"context"
	"log/slog"
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

// statusBlocked is the status of an execution a contact's compliance state
// blocked; executions with it count as Blocked.
const statusBlocked apmc.Status = "blocked"

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

// emit logs one execution as an embedded-metric-format record: a JSON log
// line (the functions log JSON to stdout) that CloudWatch Logs turns into
// metrics. It is logged at INFO, so a LogLevel above INFO drops it.
func emit(ctx context.Context, log *slog.Logger, at time.Time, e apmc.Execution, o apmc.Outcome) {
	one := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	failed := e.Status == apmc.StatusFailed
	log.LogAttrs(ctx, slog.LevelInfo, "execution metrics",
		slog.Any("_aws", emfMetadata{Timestamp: at.UnixMilli(), CloudWatchMetrics: directive}),
		slog.String(DimensionInstance, e.InstanceID),
		slog.Int(MetricExecutions, 1),
		slog.Int(MetricFailed, one(failed)),
		slog.Int(MetricHeld, one(e.Status == apmc.StatusHeld)),
		slog.Int(MetricDeadLettered, one(o == apmc.OutcomeDeadLettered)),
		slog.Int(MetricBlocked, one(e.Status == statusBlocked)),
		slog.Int(MetricFailedPercent, 100*one(failed)),
	)
}
