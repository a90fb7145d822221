package health

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

func newJSONLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, nil))
}

// noInstances knows no instance: the tracker emits the metrics and keeps
// no health.
type noInstances struct{}

func (noInstances) Instance(context.Context, string) (apmc.Instance, error) {
	return apmc.Instance{}, apmc.ErrNotFound
}

// TestEmitWritesEmbeddedMetricFormat decodes each record as CloudWatch
// does: the "_aws" directive names the namespace, the dimension and every
// metric, each of which is a number at the top level.
func TestEmitWritesEmbeddedMetricFormat(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		exec    apmc.Execution
		retried bool
		want    map[string]float64
	}{
		{"succeeded", apmc.Execution{InstanceID: "acme", Status: apmc.StatusSucceeded}, false,
			map[string]float64{MetricExecutions: 1, MetricFailed: 0, MetricHeld: 0, MetricDeadLettered: 0, MetricBlocked: 0, MetricFailedPercent: 0}},
		{"failed, to be retried", apmc.Execution{InstanceID: "acme", Status: apmc.StatusFailed, Retryable: true}, true,
			map[string]float64{MetricExecutions: 1, MetricFailed: 1, MetricHeld: 0, MetricDeadLettered: 0, MetricBlocked: 0, MetricFailedPercent: 0}},
		{"failed permanently", apmc.Execution{InstanceID: "acme", Status: apmc.StatusFailed}, false,
			map[string]float64{MetricExecutions: 1, MetricFailed: 1, MetricHeld: 0, MetricDeadLettered: 0, MetricBlocked: 0, MetricFailedPercent: 100}},
		{"dead-lettered", apmc.Execution{InstanceID: "acme", Status: apmc.StatusFailed}, true,
			map[string]float64{MetricExecutions: 1, MetricFailed: 1, MetricHeld: 0, MetricDeadLettered: 1, MetricBlocked: 0, MetricFailedPercent: 100}},
		{"held", apmc.Execution{InstanceID: "acme", Status: apmc.StatusHeld}, false,
			map[string]float64{MetricExecutions: 1, MetricFailed: 0, MetricHeld: 1, MetricDeadLettered: 0, MetricBlocked: 0, MetricFailedPercent: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf, log bytes.Buffer
			// A logger that drops everything below ERROR: the records do
			// not go through it.
			tr := &Tracker{Instances: noInstances{}, Metrics: &buf, Now: func() time.Time { return at },
				Logger: slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelError}))}
			tr.Observe(context.Background(), tt.exec, tt.retried)
			sc := bufio.NewScanner(&buf)
			if !sc.Scan() {
				t.Fatal("emit wrote nothing")
			}
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("record %s is not JSON: %v", sc.Text(), err)
			}
			var meta struct {
				Aws struct {
					Timestamp         int64
					CloudWatchMetrics []struct {
						Namespace  string
						Dimensions [][]string
						Metrics    []struct{ Name, Unit string }
					}
				} `json:"_aws"`
			}
			_ = json.Unmarshal(sc.Bytes(), &meta)
			if meta.Aws.Timestamp != at.UnixMilli() || len(meta.Aws.CloudWatchMetrics) != 1 {
				t.Fatalf("_aws = %+v, want one directive at %d", meta.Aws, at.UnixMilli())
			}
			d := meta.Aws.CloudWatchMetrics[0]
			if d.Namespace != Namespace || len(d.Dimensions) != 1 || len(d.Dimensions[0]) != 1 || d.Dimensions[0][0] != DimensionInstance {
				t.Errorf("directive = %+v, want namespace %s by %s", d, Namespace, DimensionInstance)
			}
			if rec[DimensionInstance] != "acme" {
				t.Errorf("%s = %v, want acme", DimensionInstance, rec[DimensionInstance])
			}
			if len(d.Metrics) != len(tt.want) {
				t.Errorf("directive names %d metrics, want %d", len(d.Metrics), len(tt.want))
			}
			for _, m := range d.Metrics {
				want, ok := tt.want[m.Name]
				if !ok {
					t.Errorf("unexpected metric %s", m.Name)
					continue
				}
				if got, _ := rec[m.Name].(float64); got != want {
					t.Errorf("%s = %v, want %v", m.Name, rec[m.Name], want)
				}
			}
		})
	}
}
