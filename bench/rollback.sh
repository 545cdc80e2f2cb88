#!/usr/bin/env bash
# Builds firebreak once and measures the time from the Alertmanager webhook that opens an
# incident to the rollback hook receiving its call (bench/rollbacklatency): SQLite with one
# and with eight incidents in flight, then PostgreSQL with one. Extra arguments go to every
# run, e.g.
#   bench/rollback.sh -incidents 500
# PostgreSQL comes from FIREBREAK_BENCH_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable).
# Every run is made even when an earlier one failed; the script exits 1 if any did.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp="$(mktemp -d "${TMPDIR:-/tmp}/firebreak-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/firebreak" ./cmd/firebreak
go build -o "$tmp/rollbacklatency" ./bench/rollbacklatency

status=0
for run in "-db sqlite -concurrency 1" "-db sqlite -concurrency 8" "-db postgres -concurrency 1"; do
	# shellcheck disable=SC2086 # $run is a list of flags
	"$tmp/rollbacklatency" -bin "$tmp/firebreak" $run "$@" || status=1
	echo
done
exit "$status"
