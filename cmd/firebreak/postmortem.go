package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"firebreak/cmd/firebreak/app"
	"firebreak/incidents"
	"firebreak/postmortem"
)

var postmortemCommand = &command{
	path:    "postmortem",
	args:    "ID",
	nargs:   1,
	summary: "prints the postmortem of incident ID, as Markdown (default), HTML or JSON",
	about: `Reads the database serve uses (it needs no secret and never creates one). The postmortem is
built from what Firebreak recorded plus the parts people wrote through the API; JSON is the
API's json format, indented. An incident still open gives a draft that says so.`,
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := configFlag(fs)
		format := fs.String("format", string(postmortem.FormatMarkdown), "write it as `FORMAT`: md, html or json")
		return func(ctx context.Context, stdout io.Writer, args []string) error {
			return runPostmortem(ctx, *cfgPath, args[0], *format, stdout)
		}
	},
}

// runPostmortem prints incident id's postmortem in format.
func runPostmortem(ctx context.Context, cfgPath, rawID, rawFormat string, stdout io.Writer) error {
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil || id <= 0 {
		return usageError{fmt.Sprintf("incident id %q is not a positive integer", rawID)}
	}
	format, err := postmortem.ParseFormat(rawFormat)
	if err != nil || rawFormat == "" {
		return usageError{fmt.Sprintf("--format %q: want md, html or json", rawFormat)}
	}
	cfg, err := loadAdminConfig(cfgPath)
	if err != nil {
		return err
	}
	db, err := openExistingDatabase(ctx, cfg, cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := app.Postmortems(db, cfg).Get(ctx, id)
	if errors.Is(err, incidents.ErrNotFound) {
		return fmt.Errorf("no incident %d in the database", id)
	}
	if err != nil {
		return err
	}
	out, err := postmortem.Render(r, format)
	if err != nil {
		return err
	}
	if format == postmortem.FormatJSON {
		var indented bytes.Buffer
		if err := json.Indent(&indented, out, "", "  "); err != nil {
			return fmt.Errorf("indent the JSON: %w", err)
		}
		out = indented.Bytes()
	}
	_, err = stdout.Write(out)
	return err
}
