#!/usr/bin/env bash
# Builds firebreak once and measures the time from the Alertmanager webhook that opens an
# incident to the rollback hook receiving its call (bench/rollbacklatency): SQLite with one
# and with eight incidents in flight, PostgreSQL with one, then SQLite with one while
# bench/alertload's alert mix runs at full speed from 16 senders against the same server
# (target: p99 under 100 ms). Ends with a summary block of the figures. Extra arguments go
# to every run, e.g.
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
n=0
for run in "-db sqlite -concurrency 1" "-db sqlite -concurrency 8" "-db postgres -concurrency 1" \
	"-db sqlite -concurrency 1 -background-senders 16"; do
	n=$((n + 1))
	# shellcheck disable=SC2086 # $run is a list of flags
	"$tmp/rollbacklatency" -bin "$tmp/firebreak" $run "$@" | tee "$tmp/run-$n.txt" || status=1
	echo
done

echo "== summary ($(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ))"
for i in $(seq 1 "$n"); do
	grep -h '^summary ' "$tmp/run-$i.txt" || echo "run $i: FAILED, no figures (see its output above)"
done
exit "$status"
