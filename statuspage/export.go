package statuspage

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// WriteSite writes the site of snap into dir as static files, the same bytes status-server
// serves: index.html, incidents/{id}/index.html, history/index.html (and history/{n}/ for
// older pages), history.atom, history.rss, api/v2/*.json and the stylesheet under assets/.
// Any static host that serves a folder's index.html for its address serves it as is. The
// snapshot must carry the page's name and URL (nothing else supplies them here). Files
// already in dir are overwritten, others left alone.
func WriteSite(dir string, snap Snapshot) error {
	site, err := Render(snap, Defaults{})
	if err != nil {
		return err
	}
	for _, p := range site.Paths() {
		r, err := site.Get(p)
		if err != nil {
			return fmt.Errorf("render %s: %w", p, err)
		}
		file := filepath.Join(dir, filepath.FromSlash(exportFile(p)))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := os.WriteFile(file, r.Body, 0o644); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return nil
}

// exportFile maps an address to its file: addresses with an extension are files, the others
// folders with an index.html.
func exportFile(p string) string {
	rel := strings.TrimPrefix(p, "/")
	if path.Ext(rel) != "" {
		return rel
	}
	return path.Join(rel, "index.html")
}
