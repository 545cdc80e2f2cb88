package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Under a writer that never pauses, the background checkpointer alone never catches up and
// the WAL used to grow by everything written. The writer finishing the checkpoint between
// transactions keeps it near its restart length.
func TestTheWALStartsOverUnderASustainedLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal.db")
	db, err := Open(context.Background(), "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const restart = 256 // frames: 1 MiB
	db.wal.restartFrames = restart
	if _, err := db.W.Exec(`CREATE TABLE filler (k BLOB NOT NULL, v BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(`CREATE INDEX filler_k ON filler (k)`); err != nil {
		t.Fatal(err)
	}
	gc := NewGroupCommitter(db, 1, 64, 1024, nil)
	defer gc.Close()

	// 8 writers, 3,000 transactions of 4 rows of 2 KiB with random keys: over 40 MiB of WAL
	// frames, written as fast as the writer takes them.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 375; i++ {
				err := gc.Do(context.Background(), func(ctx context.Context, q Querier) error {
					for r := 0; r < 4; r++ {
						k, v := make([]byte, 16), make([]byte, 2048)
						_, _ = rand.Read(k)
						_, _ = rand.Read(v)
						if _, err := q.ExecContext(ctx, `INSERT INTO filler (k, v) VALUES (?, ?)`, k, v); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var pages int
	if err := db.R.Get(&pages, `PRAGMA page_count`); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// The data alone is 24 MiB; the WAL carried more (index pages again and again). It must
	// have started over: its file stays a fraction of that.
	if data := int64(pages) * 4096; st.Size() > data/3 {
		t.Fatalf("the WAL file is %s after writing %s of data: it never started over", mib(st.Size()), mib(data))
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// A checkpoint that finds another under way copies nothing and says so (SQLite reports -1
// frames, -1 copied): it must not read as "everything copied", which would let the writer
// stop finishing checkpoints while the WAL stays long.
func TestABusyCheckpointIsNotTakenForACompleteOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	db, err := Open(context.Background(), "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.W.Exec(`CREATE TABLE filler (v BLOB)`); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	busy := 0
	for round := 0; round < 50 && busy < 3; round++ {
		for i := 0; i < 200; i++ {
			if _, err := db.W.Exec(`INSERT INTO filler VALUES (randomblob(8192))`); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _, _, _, _ = checkpoint(context.Background(), other, "PASSIVE") }()
		frames, copied, ran, err := checkpoint(context.Background(), db.W, "PASSIVE")
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if frames < 0 || copied < 0 {
			busy++
			if ran {
				t.Fatalf("a checkpoint that found another under way (frames %d, copied %d) reads as one that ran", frames, copied)
			}
		}
	}
	t.Logf("%d of the checkpoints found another under way", busy)
}
