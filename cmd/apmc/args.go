package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// newFlags returns a flag set for a command, reporting to stderr.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseArgs parses flags wherever they appear among the arguments, so
// `apmc instance show ID --json` works like `apmc instance show --json ID`,
// and returns the positional arguments in order.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// wantArgs checks the number of positional arguments.
func wantArgs(pos []string, names ...string) error {
	if len(pos) != len(names) {
		return fmt.Errorf("want %d argument(s): %s; got %d", len(names), strings.Join(names, " "), len(pos))
	}
	return nil
}

// multiFlag collects a repeated flag's values.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

// Set adds one value.
func (m *multiFlag) Set(v string) error {
	*m = append(*m, v)
	return nil
}

// command is one command's flags: the target selection, -json, and its own.
type command struct {
	fs      *flag.FlagSet
	target  *targetFlags
	jsonOut *bool
}

// newCommand returns a command with the target and -json flags registered;
// add its own flags to fs before calling open.
func newCommand(name string, stderr io.Writer) *command {
	fs := newFlags(name, stderr)
	return &command{fs: fs, target: addTargetFlags(fs), jsonOut: fs.Bool("json", false, "print JSON")}
}

// parse parses args and checks the positional arguments are names.
func (c *command) parse(args []string, names ...string) ([]string, error) {
	pos, err := parseArgs(c.fs, args)
	if err != nil {
		return nil, err
	}
	if err := wantArgs(pos, names...); err != nil {
		return nil, fmt.Errorf("%s: %w", c.fs.Name(), err)
	}
	return pos, nil
}

// open parses args like parse, then opens the selected target.
func (c *command) open(ctx context.Context, args []string, names ...string) (*target, []string, error) {
	pos, err := c.parse(args, names...)
	if err != nil {
		return nil, nil, err
	}
	t, err := c.target.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	return t, pos, nil
}

// subcommand runs one command of a group.
type subcommand func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// dispatch runs the group's command named by args[0].
func dispatch(ctx context.Context, group string, cmds map[string]subcommand, args []string, stdout, stderr io.Writer) error {
	names := slices.Sorted(maps.Keys(cmds))
	if len(args) == 0 {
		return fmt.Errorf("%s: want %s", group, strings.Join(names, " or "))
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("%s: unknown command %q; want %s", group, args[0], strings.Join(names, " or "))
	}
	return cmd(ctx, args[1:], stdout, stderr)
}
