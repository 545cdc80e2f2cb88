package statuspage

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWriteSiteWritesTheServedFiles(t *testing.T) {
	dir := t.TempDir()
	s := fixture(t)
	if err := WriteSite(dir, s); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	want := []string{
		"api/v2/components.json", "api/v2/incidents.json", "api/v2/incidents/unresolved.json",
		"api/v2/scheduled-maintenances.json", "api/v2/scheduled-maintenances/active.json",
		"api/v2/scheduled-maintenances/upcoming.json", "api/v2/status.json", "api/v2/summary.json",
		strings.TrimPrefix(stylePath, "/"), "history.atom", "history.rss", "history/index.html",
		"incidents/inc1/index.html", "incidents/inc2/index.html", "incidents/mnt1/index.html",
		"incidents/mnt2/index.html", "index.html",
	}
	slices.Sort(want)
	slices.Sort(files)
	if !slices.Equal(files, want) {
		t.Fatalf("exported files:\n%s\nwant:\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
	}
	site, _ := Render(s, Defaults{})
	for path, file := range map[string]string{"/": "index.html", "/incidents/inc2": "incidents/inc2/index.html",
		"/api/v2/summary.json": "api/v2/summary.json", "/history.atom": "history.atom"} {
		res, _ := site.Get(path)
		got, _ := os.ReadFile(filepath.Join(dir, file))
		if !bytes.Equal(got, res.Body) {
			t.Errorf("%s differs from what the server serves at %s", file, path)
		}
	}
	golden, _ := os.ReadFile("testdata/v2/summary.json")
	got, _ := os.ReadFile(filepath.Join(dir, "api/v2/summary.json"))
	assertSameJSON(t, got, golden)
}

func TestWriteSiteRefusesAnInvalidSnapshot(t *testing.T) {
	s := fixture(t)
	s.Components[0].Status = "broken"
	dir := t.TempDir()
	if err := WriteSite(dir, s); !IsInvalid(err) {
		t.Fatalf("WriteSite = %v, want an InvalidError", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("wrote %d files for an invalid snapshot", len(entries))
	}
}
