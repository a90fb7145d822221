package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestTerminalWizardIgnoresFilesAndPipes(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatalf("open %s: %v", os.DevNull, err)
	}
	defer devNull.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "answers"))
	if err != nil {
		t.Fatalf("create a file: %v", err)
	}
	defer file.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatalf("os.Pipe() error = %v", err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, tt := range []struct {
		name string
		f    *os.File
	}{{os.DevNull, devNull}, {"regular file", file}, {"pipe", pr}} {
		if p := terminalWizard(tt.f, &bytes.Buffer{}); p != nil {
			t.Errorf("terminalWizard(%s) = a prompter, want nil: only a terminal is asked", tt.name)
		}
	}
}

// TestMainProcess is not a test of its own: the tests below run the test
// binary again with APMC_TEST_MAIN_ARGS set, so main runs in a process of
// its own with stdin redirected, exactly as a script would run apmc.
func TestMainProcess(t *testing.T) {
	raw := os.Getenv("APMC_TEST_MAIN_ARGS")
	if raw == "" {
		t.Skip("runs only as apmc's main in a child process")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatalf("decode APMC_TEST_MAIN_ARGS: %v", err)
	}
	os.Args = append([]string{"apmc"}, args...)
	main()
	os.Exit(0)
}

// runMain runs apmc's main in a child process with stdin from the file.
func runMain(t *testing.T, stdin *os.File, args ...string) (stderr string, err error) {
	t.Helper()
	encoded, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$")
	cmd.Env = append(os.Environ(), "APMC_TEST_MAIN_ARGS="+string(encoded),
		"APMC_MAILCHIMP_API_KEY=", "APMC_ACCESSPLANIT_API_KEY=", "APMC_LOCAL_FILE="+filepath.Join(t.TempDir(), "none.json"))
	cmd.Stdin = stdin
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err = cmd.Run()
	return errOut.String(), err
}

func TestCreateWithoutTerminalNeverPrompts(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatalf("open %s: %v", os.DevNull, err)
	}
	defer devNull.Close()
	answers := filepath.Join(t.TempDir(), "answers")
	if err := os.WriteFile(answers, []byte("Shop\nkey-us21\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(answers)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	tests := []struct {
		name        string
		stdin       *os.File
		args        []string
		wantMissing []string
		notMissing  []string
	}{
		{
			name: "no flags, stdin /dev/null", stdin: devNull, args: []string{"instance", "create"},
			wantMissing: []string{"-name", "-mailchimp-api-key", "-accessplanit-url", "-accessplanit-api-key"},
		},
		{
			name: "name only, stdin a file of answers", stdin: file, args: []string{"instance", "create", "--name", "Shop"},
			wantMissing: []string{"-mailchimp-api-key", "-accessplanit-url", "-accessplanit-api-key"},
			notMissing:  []string{"-name,"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stderr, err := runMain(t, tt.stdin, tt.args...)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("apmc %s exit = %v, want status 1\nstderr: %s", strings.Join(tt.args, " "), err, stderr)
			}
			if strings.Contains(stderr, "read answer") || strings.Contains(stderr, "Instance name") {
				t.Errorf("apmc %s stderr = %q, want no question asked", strings.Join(tt.args, " "), stderr)
			}
			for _, flag := range tt.wantMissing {
				if !strings.Contains(stderr, flag) {
					t.Errorf("apmc %s stderr = %q, want it to name the missing %s", strings.Join(tt.args, " "), stderr, flag)
				}
			}
			for _, flag := range tt.notMissing {
				if strings.Contains(stderr, "missing "+flag) {
					t.Errorf("apmc %s stderr = %q, want %s not reported missing", strings.Join(tt.args, " "), stderr, flag)
				}
			}
		})
	}
}

func TestChoose(t *testing.T) {
	options := []string{"first", "second", "third"}
	tests := []struct {
		answers string
		want    int
		wantErr bool
	}{
		{answers: "2\n", want: 1},
		{answers: "3", want: 2},
		{answers: "0\nfour\n1\n", want: 0},
		{answers: "9\n9\n9\n1\n", wantErr: true},
		{answers: "", wantErr: true},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		p := &prompter{in: bufio.NewReader(strings.NewReader(tt.answers)), out: &out}
		got, err := p.choose("Pick:", options)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("choose() with answers %q = %d, %v; want %d, error %v", tt.answers, got, err, tt.want, tt.wantErr)
		}
		if !strings.Contains(out.String(), "2) second") {
			t.Errorf("choose() printed %q, want numbered options", out.String())
		}
	}
}

func TestCreateOffersNumberedAudiencesAndAccounts(t *testing.T) {
	s := startStack(t)
	s.Mailchimp.AddList(s.mcKey, "Second audience")
	s.Accessplanit.AddCompany("Second Training Ltd")
	var asked bytes.Buffer
	wizard = &prompter{in: bufio.NewReader(strings.NewReader("\n\n2\n2\n")), out: &asked} // direction and status by default, then the choices
	t.Cleanup(func() { wizard = nil })

	s.must(t, s.createArgs("Chosen", "--id", "chosen")...)
	in, err := s.Instances.Instance(context.Background(), "chosen")
	if err != nil {
		t.Fatalf("Instance(chosen) error = %v", err)
	}
	// The second option offered of each list is the one stored.
	second := regexp.MustCompile(`(?m)^  2\) .*\(([^,()]+)(?:, \d+ contacts)?\)$`).FindAllStringSubmatch(asked.String(), -1)
	if len(second) != 2 {
		t.Fatalf("questions asked = %q, want an audience and an Account offered by number", asked.String())
	}
	if in.MailchimpListID != second[0][1] || in.DefaultCompanyID != second[1][1] {
		t.Errorf("created instance = audience %s, Account %s; want the second ones offered, %s and %s\n%s",
			in.MailchimpListID, in.DefaultCompanyID, second[0][1], second[1][1], asked.String())
	}
}
