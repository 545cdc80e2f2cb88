package store

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// sqliteTarget is a SQLite database location: the file and any URI parameters the person
// added (file:x.db?cache=private), which are passed on to the driver.
type sqliteTarget struct {
	Path   string
	Params url.Values
}

// SQLitePath returns the file a SQLite database URL names: a plain path as it is, or the path
// of a file: URI (file:data/x.db?..., file:/abs/x.db, file:///abs/x.db). Callers that place
// files beside the database (the admin token) use it too.
func SQLitePath(dsn string) (string, error) {
	t, err := parseSQLiteURL(dsn)
	if err != nil {
		return "", err
	}
	return t.Path, nil
}

func parseSQLiteURL(dsn string) (sqliteTarget, error) {
	if !strings.HasPrefix(strings.ToLower(dsn), "file:") {
		return sqliteTarget{Path: dsn, Params: url.Values{}}, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return sqliteTarget{}, fmt.Errorf("sqlite url %q: %w", dsn, err)
	}
	if u.Host != "" && u.Host != "localhost" {
		return sqliteTarget{}, fmt.Errorf("sqlite url %q: a file: URL names a local file, not host %q", dsn, u.Host)
	}
	// file:data/x.db parses as an opaque URL; file:/x.db and file:///x.db have a path.
	path := u.Path
	if u.Opaque != "" {
		if path, err = url.PathUnescape(u.Opaque); err != nil {
			return sqliteTarget{}, fmt.Errorf("sqlite url %q: %w", dsn, err)
		}
	}
	if path == "" {
		return sqliteTarget{}, fmt.Errorf("sqlite url %q names no file", dsn)
	}
	if path == ":memory:" || u.Query().Get("mode") == "memory" {
		// Every pool connection would get a database of its own: the reader would see none
		// of the writer's rows.
		return sqliteTarget{}, fmt.Errorf("sqlite url %q: an in-memory database cannot be shared by Firebreak's connections; name a file", dsn)
	}
	return sqliteTarget{Path: path, Params: u.Query()}, nil
}

// sqliteDSN is the driver's data source for the file at path with the person's params and
// Firebreak's own, which win where both name a parameter: durability and the one-writer rule
// depend on them.
func sqliteDSN(path string, params url.Values, own string) string {
	merged := url.Values{}
	for k, v := range params {
		merged[k] = v
	}
	ownValues, _ := url.ParseQuery(own) // own is a constant of this package
	for k, v := range ownValues {
		merged[k] = v
	}
	prefix := "file:"
	if filepath.IsAbs(path) {
		prefix = "file://" // file:///abs: "//" before an absolute path would read as a host
	}
	return prefix + escapeSQLitePath(path) + "?" + merged.Encode()
}

// escapeSQLitePath escapes what SQLite's URI parser would otherwise take for syntax.
func escapeSQLitePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}
