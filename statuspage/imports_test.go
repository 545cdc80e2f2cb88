package statuspage

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// status-server runs on another host from the platform: the package may use the standard
// library, fiber, gorilla/feeds, yaml and the signature check of notify/webhook, and
// nothing else of Firebreak.
func TestImportsNothingOfThePlatform(t *testing.T) {
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{"firebreak/statuspage": true, "firebreak/notify/webhook": true}
	var seen int
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "firebreak" || strings.HasPrefix(pkg, "firebreak/") {
			seen++
			if !allowed[pkg] {
				t.Errorf("statuspage depends on %s", pkg)
			}
		}
	}
	if seen == 0 {
		t.Fatal("go list listed no firebreak package: the check checks nothing")
	}
}
