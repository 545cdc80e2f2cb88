package app

import (
	"fmt"
	"os"
	"path/filepath"

	"firebreak/config"
	"firebreak/store"
)

// AdminTokenFile is the name of the file the generated admin token is written to.
const AdminTokenFile = "admin-token"

// adminTokenPath is where the generated admin token goes: beside the SQLite database, so
// it sits with the rest of the instance's state, or in workDir (the working folder when
// empty) for PostgreSQL, which has no folder of its own. The path is absolute, so the log
// line naming it is unambiguous whatever folder the reader is in.
func adminTokenPath(cfg config.Config, workDir string) (string, error) {
	dir := workDir
	if cfg.Database.Driver == config.DriverSQLite {
		dbPath, err := store.SQLitePath(cfg.Database.URL)
		if err != nil {
			return "", err
		}
		dir = filepath.Dir(dbPath)
	}
	if dir == "" {
		dir = "."
	}
	return filepath.Abs(filepath.Join(dir, AdminTokenFile))
}

// writePrivateFile replaces path with data, readable and writable by its owner only. It
// writes a temporary file in the same folder and renames it over path, so a reader sees
// the old file or the new one, never half of one; the temporary file is created with mode
// 0600, so the secret is never readable by others, not even for a moment.
func writePrivateFile(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*") // os.CreateTemp uses 0600
	if err != nil {
		return fmt.Errorf("create a file in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil { // in case the platform's CreateTemp differs
		f.Close()
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	// Make the rename itself durable; a failure here loses nothing already written.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
