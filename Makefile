# Everyday commands. Go is looked for on PATH, then in /usr/local/go/bin.
#   make test       the README's test command (SQLite; PostgreSQL too if FIREBREAK_TEST_POSTGRES_URL is set)
#   make test-pg    the same with PostgreSQL at $(PG_URL)
#   make fuzz       every fuzz target for $(FUZZTIME) each
#   make bench      the load scripts in bench/ (several minutes; see bench/README.md)

export PATH := $(PATH):/usr/local/go/bin

PG_URL   ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
FUZZTIME ?= 20s

.PHONY: test test-pg fuzz bench

test:
	go test -race ./...

test-pg:
	FIREBREAK_TEST_POSTGRES_URL='$(PG_URL)' go test -race ./...

# Finds every `func FuzzX` in the test files and fuzzes each alone (go test -fuzz takes one
# target a package at a time). The first failure stops the run; its input is saved under
# the package's testdata/fuzz.
fuzz:
	@set -e; grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do \
		dir=$$(dirname "$$file"); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$file"); do \
			echo "== $$target in $$dir for $(FUZZTIME)"; \
			go test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$dir"; \
		done; \
	done

# Each script builds firebreak and prints its figures; one failing does not stop the others.
bench:
	@status=0; for script in bench/*.sh; do \
		echo "== $$script"; bash "$$script" || status=1; echo; \
	done; exit $$status
