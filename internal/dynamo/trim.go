package dynamo

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// maxItemBytes keeps an execution well under DynamoDB's 400 KB item limit,
// leaving room for the trim note and for estimation error.
const maxItemBytes = 350_000

// Limits applied, in order, while trimming an execution that is too large.
const (
	maxStepOutputBytes = 4 << 10
	maxTextBytes       = 2 << 10
	maxReasonBytes     = 8 << 10
)

// fitExecution encodes e as an item, trimming it when it would exceed
// maxItemBytes: large step outputs go first, then long texts, then log
// lines from the middle of the log. What was trimmed is noted in a warning
// log line, so a reader knows the record is incomplete.
func fitExecution(e apmc.Execution) (map[string]types.AttributeValue, error) {
	item, err := marshalExecution(e)
	if err != nil || itemSize(item) <= maxItemBytes {
		return item, err
	}
	e.Steps = append([]apmc.Step(nil), e.Steps...)
	e.Logs = append([]apmc.LogLine(nil), e.Logs...)
	var notes []string
	for stage := 0; ; stage++ {
		switch stage {
		case 0:
			n := 0
			for i, st := range e.Steps {
				out, err := marshalItem(st.Output)
				if err == nil && itemSize(out) <= maxStepOutputBytes {
					continue
				}
				e.Steps[i].Output = map[string]any{"trimmed": fmt.Sprintf("output of about %d bytes removed", itemSize(out))}
				n++
			}
			if n > 0 {
				notes = append(notes, fmt.Sprintf("%d step outputs over %d bytes removed", n, maxStepOutputBytes))
			}
		case 1:
			for i := range e.Logs {
				e.Logs[i].Message = truncate(e.Logs[i].Message, maxTextBytes)
			}
			for i := range e.Steps {
				e.Steps[i].Error = truncate(e.Steps[i].Error, maxTextBytes)
			}
			notes = append(notes, fmt.Sprintf("log messages and step errors cut to %d bytes", maxTextBytes))
		case 2:
			e.Reason = truncate(e.Reason, maxReasonBytes)
			e.Error = truncate(e.Error, maxReasonBytes)
			for i := range e.Steps {
				e.Steps[i].Output = nil
			}
			notes = append(notes, "all step outputs removed")
		default:
			// Drop log lines from the middle, keeping the start and the end.
			if len(e.Logs) <= 1 {
				return nil, errors.New("execution record too large for DynamoDB even after trimming")
			}
			keep := len(e.Logs) / 2
			head, tail := e.Logs[:keep/2], e.Logs[len(e.Logs)-(keep-keep/2):]
			dropped := len(e.Logs) - keep
			e.Logs = append(append(append([]apmc.LogLine(nil), head...),
				apmc.LogLine{Level: "warn", Message: fmt.Sprintf("%d log lines removed", dropped)}), tail...)
			notes = append(notes, fmt.Sprintf("%d log lines removed", dropped))
		}
		item, err = marshalExecution(e)
		if err != nil {
			return nil, err
		}
		if itemSize(item) <= maxItemBytes {
			break
		}
	}
	e.Logs = append(e.Logs, apmc.LogLine{
		Time: e.FinishedAt, Level: "warn",
		Message: "execution record trimmed to fit DynamoDB's 400 KB item limit: " + strings.Join(notes, "; "),
	})
	return marshalExecution(e)
}

// marshalExecution encodes e as an item.
func marshalExecution(e apmc.Execution) (map[string]types.AttributeValue, error) {
	it, err := toExecutionItem(e)
	if err != nil {
		return nil, err
	}
	return marshalItem(it)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " …[trimmed]"
}

// itemSize estimates an item's size the way DynamoDB counts it: attribute
// names plus values, with a few bytes of overhead for lists and maps.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		return len(x.Value)/2 + 2
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range x.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range x.Value {
			n += len(s)/2 + 2
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range x.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + itemSize(x.Value) + len(x.Value)
	}
	return 0
}
