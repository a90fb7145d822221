package health

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

// TestHoldWritesOneRecordPerInstance: while a batch holds the records, the
// executions of one instance make one record, whose sums count them and
// whose FailedPercent has one value per execution (so its average is still
// the share that failed for good); more than 100 executions make more
// records.
func TestHoldWritesOneRecordPerInstance(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	ok := apmc.Execution{InstanceID: "acme", Status: apmc.StatusSucceeded}
	failed := apmc.Execution{InstanceID: "acme", Status: apmc.StatusFailed}
	held := apmc.Execution{InstanceID: "beta", Status: apmc.StatusHeld}
	var buf bytes.Buffer
	tr := &Tracker{Instances: noInstances{}, Metrics: &buf, Now: func() time.Time { return at }, Logger: slog.New(slog.DiscardHandler)}
	ctx := context.Background()

	release := tr.Hold()
	releaseOther := tr.Hold() // a batch applied at the same time
	for range 3 {
		tr.Observe(ctx, ok, false)
	}
	tr.Observe(ctx, failed, false) // a final failure
	tr.Observe(ctx, failed, true)  // dead-lettered
	tr.Observe(ctx, held, false)   // another instance
	tr.DeadLettered(ctx, "gamma")  // no execution
	for range maxValues + 5 {      // more than one record holds
		tr.Observe(ctx, apmc.Execution{InstanceID: "delta", Status: apmc.StatusSucceeded}, false)
	}
	releaseOther()
	if buf.Len() != 0 {
		t.Fatalf("records written while a batch still holds them: %s", buf.String())
	}
	release()
	release() // a second release changes nothing

	type got struct {
		executions, failed, held, deadLettered float64
		failedPercent                          []float64
		metrics                                int
	}
	records := map[string][]got{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("record %s is not JSON: %v", sc.Text(), err)
		}
		var meta struct {
			Aws struct {
				CloudWatchMetrics []struct{ Metrics []struct{ Name string } }
			} `json:"_aws"`
		}
		_ = json.Unmarshal(sc.Bytes(), &meta)
		g := got{metrics: len(meta.Aws.CloudWatchMetrics[0].Metrics)}
		g.executions, _ = rec[MetricExecutions].(float64)
		g.failed, _ = rec[MetricFailed].(float64)
		g.held, _ = rec[MetricHeld].(float64)
		g.deadLettered, _ = rec[MetricDeadLettered].(float64)
		switch v := rec[MetricFailedPercent].(type) {
		case float64:
			g.failedPercent = []float64{v}
		case []any:
			for _, x := range v {
				f, _ := x.(float64)
				g.failedPercent = append(g.failedPercent, f)
			}
		}
		id, _ := rec[DimensionInstance].(string)
		records[id] = append(records[id], g)
	}
	want := map[string][]got{
		"acme":  {{executions: 5, failed: 2, deadLettered: 1, failedPercent: []float64{0, 0, 0, 100, 100}, metrics: len(Metrics)}},
		"beta":  {{executions: 1, held: 1, failedPercent: []float64{0}, metrics: len(Metrics)}},
		"gamma": {{deadLettered: 1, metrics: 1}},
		"delta": {
			{executions: maxValues, failedPercent: make([]float64, maxValues), metrics: len(Metrics)},
			{executions: 5, failedPercent: make([]float64, 5), metrics: len(Metrics)},
		},
	}
	if diff := cmp.Diff(want, records, cmp.AllowUnexported(got{})); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}

	// With no hold, each execution is written at once.
	buf.Reset()
	tr.Observe(ctx, ok, false)
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
		t.Errorf("records after one execution with no hold = %d, want 1", n)
	}
}
