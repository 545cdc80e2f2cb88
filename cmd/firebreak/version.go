package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

var versionCommand = &command{
	path:    "version",
	summary: "prints the version, the commit it was built from and the Go version",
	flags: func(*flag.FlagSet) runFunc {
		return func(_ context.Context, stdout io.Writer, _ []string) error { return runVersion(stdout) }
	},
}

func runVersion(stdout io.Writer) error {
	commit := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "firebreak %s (commit %s, %s)\n", version, commit, runtime.Version())
	return nil
}
