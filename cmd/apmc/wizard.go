package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// wizard asks for missing settings when apmc runs on a terminal; nil (as
// in tests, scripts and `apmc … </dev/null`) means every setting comes from
// flags.
var wizard *prompter

// prompter asks questions on a terminal.
type prompter struct {
	in  *bufio.Reader
	out io.Writer
	// readSecret reads one line without echo; nil reads it like any answer
	// (tests, where there is no terminal to silence).
	readSecret func() (string, error)
}

// terminalWizard returns a prompter reading in when in is a terminal, else
// nil. /dev/null is a character device but not a terminal, so it must be
// asked of the terminal driver, not the file mode.
func terminalWizard(in *os.File, out io.Writer) *prompter {
	if in == nil || !term.IsTerminal(int(in.Fd())) {
		return nil
	}
	p := &prompter{in: bufio.NewReader(in), out: out}
	p.readSecret = func() (string, error) {
		b, err := term.ReadPassword(int(in.Fd()))
		return string(b), err
	}
	return p
}

// ask prints the question and returns the answer, or def when empty.
func (p *prompter) ask(question, def string) (string, error) {
	if def != "" {
		fmt.Fprintf(p.out, "%s [%s]: ", question, def)
	} else {
		fmt.Fprintf(p.out, "%s: ", question)
	}
	return p.line(def)
}

// line reads one answer, or def when it is empty.
func (p *prompter) line(def string) (string, error) {
	line, err := p.in.ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read answer: %w", err)
	}
	if line = strings.TrimSpace(line); line == "" {
		return def, nil
	}
	return line, nil
}

// askSecret reads an answer with the terminal's echo off, so a key never
// shows on screen.
func (p *prompter) askSecret(question string) (string, error) {
	fmt.Fprintf(p.out, "%s (not shown): ", question)
	if p.readSecret == nil {
		return p.line("")
	}
	s, err := p.readSecret()
	fmt.Fprintln(p.out)
	if err != nil {
		return "", fmt.Errorf("read answer: %w", err)
	}
	return strings.TrimSpace(s), nil
}

// maxAsks bounds how often one question is asked again after a wrong answer.
const maxAsks = 3

// choose lists the options numbered from 1 and returns the index of the
// one picked by number.
func (p *prompter) choose(question string, options []string) (int, error) {
	if len(options) == 0 {
		return 0, errors.New("nothing to choose from")
	}
	fmt.Fprintln(p.out, question)
	for i, o := range options {
		fmt.Fprintf(p.out, "  %d) %s\n", i+1, o)
	}
	for range maxAsks {
		answer, err := p.ask(fmt.Sprintf("Number (1-%d)", len(options)), "")
		if err != nil {
			return 0, err
		}
		if n, err := strconv.Atoi(answer); err == nil && n >= 1 && n <= len(options) {
			return n - 1, nil
		}
		fmt.Fprintf(p.out, "%q is not a number from 1 to %d\n", answer, len(options))
	}
	return 0, fmt.Errorf("no choice made after %d answers", maxAsks)
}

// fillCreate asks for the settings `instance create` needs that no flag
// gave. The audience and default Account are offered as numbered choices
// once the keys are known (see connectAndCheck).
func (p *prompter) fillCreate(s *settingsFlags) error {
	var err error
	steps := []struct {
		dst      *string
		question string
		def      string
		secret   bool
	}{
		{&s.name, "Instance name", "", false},
		{&s.mailchimpAPIKey, "Mailchimp API key", "", true},
		{&s.accessplanitURL, "accessplanit API v2 URL (https://host/instance/api/v2/)", "", false},
		{&s.accessplanitAPIKey, "accessplanit API key", "", true},
		{&s.direction, "Direction (both, accessplanit_to_mailchimp, mailchimp_to_accessplanit)", "both", false},
		{&s.statusIfNew, "Status of contacts new to Mailchimp (subscribed, pending, unsubscribed, transactional)", "subscribed", false},
	}
	for _, st := range steps {
		if *st.dst != "" {
			continue
		}
		if st.secret {
			*st.dst, err = p.askSecret(st.question)
		} else {
			*st.dst, err = p.ask(st.question, st.def)
		}
		if err != nil {
			return err
		}
	}
	s.given["direction"] = true
	s.given["status-if-new"] = true
	return nil
}

// pickList offers the account's audiences as numbered choices.
func (p *prompter) pickList(lists []mailchimp.List) (string, error) {
	options := make([]string, len(lists))
	for i, l := range lists {
		options[i] = fmt.Sprintf("%s (%s, %d contacts)", l.Name, l.ID, l.MemberCount)
	}
	i, err := p.choose("Mailchimp audience:", options)
	if err != nil {
		return "", fmt.Errorf("choose a Mailchimp audience: %w", err)
	}
	return lists[i].ID, nil
}

// pickCompany offers the platform's Accounts as numbered choices for the
// default Account of users created from Mailchimp.
func (p *prompter) pickCompany(companies []accessplanit.Company) (string, error) {
	options := make([]string, len(companies))
	for i, c := range companies {
		options[i] = fmt.Sprintf("%s (%s)", c.Name, c.ID)
	}
	i, err := p.choose("accessplanit default Account for users created from Mailchimp:", options)
	if err != nil {
		return "", fmt.Errorf("choose a default Account: %w", err)
	}
	return companies[i].ID, nil
}
