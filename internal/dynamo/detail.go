package dynamo

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// executionDetail is the part of an execution that no index projects and
// no query filters on, stored as one compressed binary attribute. Its JSON
// names are the plain attribute names of items written before it existed,
// so those items decode into it too.
type executionDetail struct {
	ChangeID      string         `json:"change_id,omitempty"`
	Event         apmc.Event     `json:"event,omitempty"`
	Attempt       int            `json:"attempt,omitempty"`
	OriginalID    string         `json:"original_id,omitempty"`
	Contact       string         `json:"contact,omitempty"`
	Reason        string         `json:"reason,omitempty"`
	Error         string         `json:"error,omitempty"`
	Retryable     bool           `json:"retryable,omitempty"`
	ConfigVersion int            `json:"config_version,omitempty"`
	StartedAt     time.Time      `json:"started_at,omitzero"`
	FinishedAt    time.Time      `json:"finished_at,omitzero"`
	Steps         []apmc.Step    `json:"steps,omitempty"`
	Logs          []apmc.LogLine `json:"logs,omitempty"`
	Change        *apmc.Change   `json:"change,omitempty"`
}

// detailV1 is the first byte of a detail compressed with dictionaryV1.
const detailV1 byte = 1

// dictionaryV1 primes the compressor with what executions repeat: field
// names, step names and outputs, log lines, a delivered User. One record
// alone is too short for DEFLATE to find these repeats, so without it a
// changed contact's execution compresses to about 900 B; with it, to about
// 400 B. Items compressed with it exist: never change it. A better
// dictionary is a new one with a new version byte, and reading keeps both.
const dictionaryV1 = `{"change_id":"sha256:","event":"updated","attempt":1,"original_id":"","contact":"","reason":"","error":"","retryable":true,"config_version":1,"started_at":"2026-12-02T00:00:00.000000000Z","finished_at":"2026-12-02T00:00:00.000000000Z",` +
	`"reason":"echo of the service's own write to accessplanit","reason":"nothing to write","reason":"contact is blocked by Mailchimp","status":"failed","status":"skipped","status":"held","status":"blocked",` +
	`{"name":"read_member","status":"ok","output":{"found":true,"status":"subscribed","merge_fields":{}},"duration_ms":0},{"name":"find_user","status":"ok","output":{"found":false,"users_with_email":0,"accessplanit_requests":1},"duration_ms":0},` +
	`{"name":"update_user","status":"ok","output":{"user_id":"","changed_fields":["Forenames","Surname","Email"]},"duration_ms":0},{"name":"create_user","status":"ok","output":{"user_id":""},"duration_ms":0},{"name":"update_tags","status":"ok","output":{"tags_added":[],"tags_removed":[]},"duration_ms":0},` +
	`{"name":"unsubscribe_member","status":"ok","duration_ms":0},{"name":"write_mailchimp_status","status":"ok","duration_ms":0},{"name":"read_training_activity","status":"ok","output":{"bookings":0,"delegates":0,"training_activity_fields":{}},"duration_ms":0},` +
	`"status":"failed","error":"mailchimp: 400 ","status":"skipped","status":"unsubscribed","status":"pending","status":"cleaned","mailchimp_requests_per_change":1,"batch_members":1,"batch_read_error":"","previous_email":"","merged_with_concurrent_change":true,` +
	`{"time":"2026-12-02T00:00:00.000000000Z","level":"warn","message":""},{"time":"2026-12-02T00:00:00.000000000Z","level":"error","message":""},"message":"accessplanit User  written"},` +
	`"change":{"id":"sha256:","instance_id":"","source":"mailchimp","event":"profile","received_at":"2026-12-02T00:00:00.000000000Z","email":"@example.com","origin":"webhook"},"origin":"retry","origin":"replay","origin":"backfill","origin":"reconcile",` +
	`"steps":[{"name":"load_instance","status":"ok","duration_ms":0},{"name":"load_contact","status":"ok","duration_ms":0},{"name":"save_contact_state","status":"ok","duration_ms":0}],"logs":[{"time":"2026-12-02T00:00:00.000000000Z","level":"info","message":"mailchimp subscribe received from mailchimp (attempt 1)"}],` +
	`"steps":[{"name":"load_instance","status":"ok","output":{"config_version":1,"direction":"both","state":"enabled"},"duration_ms":0},{"name":"load_contact","status":"ok","output":{"known":true},"duration_ms":0},` +
	`{"name":"read_user","status":"ok","output":{"accessplanit_rate_limit":"ASSUMPTION: 5,000 requests per hour per endpoint (the v1 API's published limit)","accessplanit_requests_per_change":1,"batch_changes":1,"batch_requests":1,"read":"batch","source":"accessplanit API","user_id":"1"},"duration_ms":0},` +
	`{"name":"load_contact","status":"ok","output":{"known":false},"duration_ms":0},{"name":"decide","status":"ok","output":{"action":"write","merge_fields":{"EMAIL":"@example.com","FNAME":"","LNAME":"","PHONE":"+44 "}},"duration_ms":0},` +
	`{"name":"upsert_member","status":"ok","output":{"changed_fields":["EMAIL","FNAME","LNAME","PHONE"],"mailchimp_budget_wait_ms":0,"member_id":"","status":"subscribed"},"duration_ms":0},{"name":"save_contact_state","status":"ok","duration_ms":0}],` +
	`"logs":[{"time":"2026-12-02T00:00:00.000000000Z","level":"info","message":"accessplanit updated received from accessplanit (attempt 1)"},{"time":"2026-12-02T00:00:00.000000000Z","level":"info","message":"Mailchimp contact @example.com written"}],` +
	`"change":{"id":"sha256:","instance_id":"","source":"accessplanit","event":"updated","received_at":"2026-12-02T00:00:00.000000000Z","occurred_at":"2026-12-02T00:00:00.000Z","email":"@example.com","user_id":"1","user":{"id":"1","fields":{"CreatedByID":"1","DateCreated":"2026-12-02T00:00:00.000","DateUpdated":"2026-12-02T00:00:00.000",` +
	`"Email":"@example.com","Forenames":"","ID":"1","JobTitle":"","MainCompanyID":"1","MainCompanyName":"","MarketingOptIn":"true","Phone":"+44 ","Status":"Active","Surname":"","UniqueID":"00000000-0000-4000-8000-000000000000","UpdatedByID":"1","UserCompaniesIDs":"[1]"},"updated_at":"2026-12-02T00:00:00.000Z","updated_by_id":"1"},"origin":"webhook"}}`

// compressors keeps DEFLATE writers between saves: each holds hundreds of
// KB of state, too much to allocate for every execution.
var compressors = sync.Pool{New: func() any {
	w, err := flate.NewWriterDict(nil, flate.BestCompression, []byte(dictionaryV1))
	if err != nil {
		panic(err) // the level is a constant and valid
	}
	return w
}}

// packDetail encodes d as JSON compressed with DEFLATE and dictionaryV1,
// after the version byte.
func packDetail(d executionDetail) ([]byte, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode execution detail: %w", err)
	}
	buf := bytes.NewBuffer([]byte{detailV1})
	w := compressors.Get().(*flate.Writer)
	defer compressors.Put(w)
	w.Reset(buf)
	if _, err := w.Write(raw); err != nil {
		return nil, fmt.Errorf("compress execution detail: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress execution detail: %w", err)
	}
	return buf.Bytes(), nil
}

// unpackDetail decodes what packDetail encoded.
func unpackDetail(b []byte) (executionDetail, error) {
	var d executionDetail
	if len(b) == 0 || b[0] != detailV1 {
		return d, errors.New("decompress execution detail: unknown format")
	}
	r := flate.NewReaderDict(bytes.NewReader(b[1:]), []byte(dictionaryV1))
	defer r.Close()
	raw, err := io.ReadAll(r)
	if err != nil {
		return d, fmt.Errorf("decompress execution detail: %w", err)
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, fmt.Errorf("decode execution detail: %w", err)
	}
	return d, nil
}
