package statuspage

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// snapshotFile is the name, in the data folder, of the last accepted snapshot: the bytes of
// the push exactly as they were signed.
const snapshotFile = "snapshot.json"

// tempPrefix names the files a save writes before renaming them into place.
const tempPrefix = ".snapshot-"

// disk keeps the last accepted snapshot in the data folder so that a restarted server
// shows the page it showed before.
type disk struct {
	dir string
}

// openDisk creates the data folder if needed and removes temporary files a crash during a
// save left behind.
func openDisk(dir string) (*disk, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				slog.Warn("could not remove an unfinished snapshot file", "file", e.Name(), "err", err)
			}
		}
	}
	return &disk{dir: dir}, nil
}

func (d *disk) path() string { return filepath.Join(d.dir, snapshotFile) }

// load returns the saved snapshot's bytes, or nil when none was saved yet.
func (d *disk) load() ([]byte, error) {
	b, err := os.ReadFile(d.path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the saved snapshot: %w", err)
	}
	return b, nil
}

// save replaces the saved snapshot with body atomically: a crash at any point leaves the
// old snapshot or the new one, whole. The data reaches the disk (fsync) before the rename,
// and the rename before save returns (fsync of the folder).
func (d *disk) save(body []byte) error {
	f, err := os.CreateTemp(d.dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	tmp := f.Name()
	if _, err := f.Write(body); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("save snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("save snapshot: fsync: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save snapshot: %w", err)
	}
	if err := os.Rename(tmp, d.path()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save snapshot: %w", err)
	}
	dirf, err := os.Open(d.dir)
	if err != nil {
		return fmt.Errorf("save snapshot: open data_dir to fsync it: %w", err)
	}
	defer dirf.Close()
	if err := dirf.Sync(); err != nil {
		return fmt.Errorf("save snapshot: fsync data_dir: %w", err)
	}
	return nil
}
