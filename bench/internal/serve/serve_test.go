package serve

import (
	"os"
	"testing"
)

// TestProcStatusOfSelf reads this test process's own /proc/<pid>/status: the fields the
// load programs use are there, in bytes.
func TestProcStatusOfSelf(t *testing.T) {
	st, err := procStatus(os.Getpid())
	if err != nil {
		t.Fatalf("read /proc/self/status (the benchmarks sample RSS there; Linux only): %v", err)
	}
	if st["VmRSS"] <= 0 || st["VmHWM"] < st["VmRSS"] || st["VmRSS"]%1024 != 0 {
		t.Errorf("VmRSS %d, VmHWM %d: want positive multiples of 1024, VmHWM ≥ VmRSS", st["VmRSS"], st["VmHWM"])
	}
	if SelfCPUTime() <= 0 {
		t.Errorf("SelfCPUTime() = %s, want more than 0", SelfCPUTime())
	}
}
