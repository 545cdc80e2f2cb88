package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"firebreak/accounts"
)

// stdin is where user create and user set-password read the password; tests replace it.
var stdin io.Reader = os.Stdin

var userCreateCommand = &command{
	path:     "user create",
	summary:  "creates a web UI user; the password is read as one line from stdin",
	required: []string{"username", "role"},
	about: `Roles: viewer (reads), responder (reads and acts on incidents), admin (everything).
The password is one line of stdin, its newline dropped, at least 8 characters:
  printf '%s\n' "$PASSWORD" | firebreak user create --username alice --role responder`,
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := configFlag(fs)
		username := fs.String("username", "", "the user's `NAME`, unique")
		role := fs.String("role", "", "the user's `ROLE`: viewer, responder or admin")
		return func(ctx context.Context, stdout io.Writer, _ []string) error {
			r, err := accounts.ParseRole(strings.TrimSpace(*role))
			if err != nil {
				return usageError{fmt.Sprintf("--role: %v", err)}
			}
			password, err := readPassword()
			if err != nil {
				return err
			}
			return withAccounts(ctx, *cfgPath, func(s *accounts.Store) error {
				u, err := s.Create(ctx, strings.TrimSpace(*username), password, r)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "created user %q with role %s\n", u.Username, u.Role)
				return nil
			})
		}
	},
}

var userListCommand = &command{
	path:    "user list",
	summary: "lists the web UI users: name, role, whether disabled, when created",
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := configFlag(fs)
		return func(ctx context.Context, stdout io.Writer, _ []string) error {
			return withAccounts(ctx, *cfgPath, func(s *accounts.Store) error {
				list, err := s.List(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USERNAME\tROLE\tSTATE\tCREATED")
				for _, u := range list {
					state := "enabled"
					if u.Disabled {
						state = "disabled"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, u.Role, state, formatTime(u.CreatedAt))
				}
				return tw.Flush()
			})
		}
	},
}

var userDisableCommand = &command{
	path:    "user disable",
	args:    "USERNAME",
	nargs:   1,
	summary: "stops USERNAME from logging in and ends their sessions at once",
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := configFlag(fs)
		return func(ctx context.Context, stdout io.Writer, args []string) error {
			return withAccounts(ctx, *cfgPath, func(s *accounts.Store) error {
				if err := s.Disable(ctx, args[0]); err != nil {
					return userError(err, args[0])
				}
				fmt.Fprintf(stdout, "disabled user %q and ended their sessions\n", args[0])
				return nil
			})
		}
	},
}

var userSetPasswordCommand = &command{
	path:    "user set-password",
	args:    "USERNAME",
	nargs:   1,
	summary: "sets USERNAME's password from one line of stdin and ends their sessions",
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := configFlag(fs)
		return func(ctx context.Context, stdout io.Writer, args []string) error {
			password, err := readPassword()
			if err != nil {
				return err
			}
			return withAccounts(ctx, *cfgPath, func(s *accounts.Store) error {
				if err := s.SetPassword(ctx, args[0], password); err != nil {
					return userError(err, args[0])
				}
				fmt.Fprintf(stdout, "set the password of %q and ended their sessions\n", args[0])
				return nil
			})
		}
	},
}

func userError(err error, name string) error {
	if errors.Is(err, accounts.ErrNotFound) {
		return fmt.Errorf("no user named %q (`firebreak user list` shows them)", name)
	}
	return err
}

// readPassword reads one line of stdin and drops its line ending. On a terminal it asks
// once, on stderr; piped input gets no prompt and no second question.
func readPassword() (string, error) {
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(os.Stderr, "Password: ")
		}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usageError{"no password on stdin: send it as one line"}
	}
	return line, nil
}

func withAccounts(ctx context.Context, cfgPath string, fn func(s *accounts.Store) error) error {
	cfg, err := loadAdminConfig(cfgPath)
	if err != nil {
		return err
	}
	db, err := openExistingDatabase(ctx, cfg, cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(accounts.New(db, accounts.Options{Now: time.Now}))
}
