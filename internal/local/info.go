package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Info is what the stack tells its users, also written to the state file.
type Info struct {
	APIURL     string   `json:"api_url"`
	ConsoleURL string   `json:"console_url,omitempty"`
	InstanceID string   `json:"instance_id"`
	APIToken   string   `json:"api_token"`
	Webhooks   Webhooks `json:"webhooks"`
	Sandbox    Sandbox  `json:"sandbox"`
	AWS        AWS      `json:"aws"`
}

// Webhooks are the instance's webhook URLs.
type Webhooks struct {
	Accessplanit string `json:"accessplanit"`
	Mailchimp    string `json:"mailchimp"`
}

// Sandbox describes the simulators (empty where a real system is used).
type Sandbox struct {
	Mailchimp    MailchimpSandbox    `json:"mailchimp"`
	Accessplanit AccessplanitSandbox `json:"accessplanit"`
}

// MailchimpSandbox describes the Mailchimp simulator.
type MailchimpSandbox struct {
	BaseURL       string `json:"base_url"`
	ControlURL    string `json:"control_url,omitempty"`
	APIKey        string `json:"api_key"`
	ListID        string `json:"list_id"`
	SigningSecret string `json:"signing_secret"`
}

// AccessplanitSandbox describes the accessplanit simulator.
type AccessplanitSandbox struct {
	BaseURL          string `json:"base_url"`
	ControlURL       string `json:"control_url,omitempty"`
	APIKey           string `json:"api_key"`
	DefaultCompanyID string `json:"default_company_id"`
}

// AWS names the AWS resources the stack uses.
type AWS struct {
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
	InstancesTable  string `json:"instances_table"`
	ExecutionsTable string `json:"executions_table"`
	ContactsTable   string `json:"contacts_table"`
	// BackfillQueueURL is the first-sync job queue.
	BackfillQueueURL string `json:"backfill_queue_url"`
	QueueURL         string `json:"queue_url"`
	// BulkQueueURL is the bulk queue: the changes of an accessplanit
	// instance while it bursts. It shares the dead-letter queue.
	BulkQueueURL  string `json:"bulk_queue_url"`
	DeadLetterURL string `json:"dead_letter_queue_url"`
	KMSKeyID      string `json:"kms_key_id"`
}

// write saves the info as JSON, readable by its owner only: it holds the
// simulators' keys and the operator token.
func (i Info) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	b, err := json.MarshalIndent(i, "", "  ")
	if err != nil {
		return fmt.Errorf("encode stack info: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ReadInfo reads a state file written by a running stack.
func ReadInfo(path string) (Info, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Info{}, fmt.Errorf("read %s (is `make run` running?): %w", path, err)
	}
	var i Info
	if err := json.Unmarshal(b, &i); err != nil {
		return Info{}, fmt.Errorf("decode %s: %w", path, err)
	}
	return i, nil
}
