package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"firebreak/bench/internal/pgschema"
)

// Binary returns the absolute path of the firebreak binary to measure: bin when it is set
// (a -bin flag), otherwise one built now into a temporary directory that cleanup removes.
// prog names the calling program in the progress line written to log.
func Binary(ctx context.Context, bin, prog string, log io.Writer) (path string, cleanup func(), err error) {
	cleanup = func() {}
	if bin == "" {
		tmp, err := os.MkdirTemp("", "firebreak-bench-bin-")
		if err != nil {
			return "", cleanup, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		if bin, err = Build(ctx, tmp, prog, log); err != nil {
			cleanup()
			return "", func() {}, err
		}
	}
	if path, err = filepath.Abs(bin); err != nil {
		cleanup()
		return "", func() {}, err
	}
	return path, cleanup, nil
}

// Build builds cmd/firebreak of the module this program belongs to into dir and returns
// the binary's path; the go command's output goes to log.
func Build(ctx context.Context, dir, prog string, log io.Writer) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root (go env GOMOD): %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the firebreak module: run from the repository or pass -bin")
	}
	bin := filepath.Join(dir, "firebreak")
	fmt.Fprintf(log, "%s: building %s\n", prog, bin)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/firebreak")
	cmd.Dir = filepath.Dir(gomod)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/firebreak: %w", err)
	}
	return bin, nil
}

// DatabaseURL is FIREBREAK_DATABASE_URL for a run on db: the SQLite file dir/firebreak.db,
// or, for "postgres", a fresh schema on the PostgreSQL server at pgBase (see pgschema).
// done drops that schema, writing a failure to log as "prog: error"; for SQLite it does
// nothing.
func DatabaseURL(ctx context.Context, db, dir, pgBase string, log io.Writer, prog string) (dbURL string, done func(), err error) {
	if db != "postgres" {
		return filepath.Join(dir, "firebreak.db"), func() {}, nil
	}
	dbURL, drop, err := pgschema.Fresh(ctx, pgBase)
	if err != nil {
		return "", func() {}, err
	}
	return dbURL, func() {
		if err := drop(); err != nil {
			fmt.Fprintf(log, "%s: %v\n", prog, err)
		}
	}, nil
}
