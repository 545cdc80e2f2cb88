#!/usr/bin/env bash
# The alert-ingestion benchmark (bench/alertload), Firebreak beside a real Alertmanager.
# Builds firebreak, alertload and Alertmanager (from the version in go.mod, cached in
# ${XDG_CACHE_HOME:-~/.cache}/firebreak-bench), then runs, each against a fresh server:
#   sqlite-mix      the 85/10/5 mix on SQLite         (target ≥ 2.0× Alertmanager, p99 < 50 ms)
#   sqlite-prefill  the mix with 1,000,000 alert rows stored first (≥ 80% of sqlite-mix)
#   pg-mix          the mix on PostgreSQL             (≥ 1.0× Alertmanager)
#   sqlite-new      every alert new, SQLite           (≥ 1.0× Alertmanager)
#   pg-new          every alert new, PostgreSQL       (≥ 1.0× Alertmanager)
#   sqlite-storm    50,000 new alerts over 200 groups, SQLite     (< 5 s, ≥ 1.0× Alertmanager)
#   pg-storm        the same storm, PostgreSQL                    (< 10 s, ≥ 1.0× Alertmanager)
#                   (each storm run then sends the storm's end to the same servers: the same
#                   alerts resolved, one notification per group; printed, no target yet, and
#                   a summary line of its own, sqlite-storm-end / pg-storm-end)
#   pg-twins        an HA pair: every payload to two replicas on one schema, 15 s (no errors, p99 < 1 s)
# and ends with a summary block of every figure.
#
#   bench/alerts.sh                        # all of them, 10 s a measured load
#   bench/alerts.sh sqlite-mix sqlite-storm -duration 5s
#   bench/alerts.sh -no-alertmanager pg-mix
# Run names pick a subset (in the order above); any other argument goes to every alertload
# run (-duration 30s, -senders 32, -keep-logs). FIREBREAK_BENCH_ALERTMANAGER=<binary> uses
# that Alertmanager instead of building one. PostgreSQL comes from
# FIREBREAK_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=(sqlite-mix sqlite-prefill pg-mix sqlite-new pg-new sqlite-storm pg-storm pg-twins)
# The runs Firebreak is compared with Alertmanager in.
am_runs=" sqlite-mix pg-mix sqlite-new pg-new sqlite-storm pg-storm "

selected=()
pass=()
use_am=1
for arg in "$@"; do
	if [[ " ${runs[*]} " == *" $arg "* ]]; then
		selected+=("$arg")
	elif [[ "$arg" == -no-alertmanager || "$arg" == --no-alertmanager ]]; then
		use_am=0
	elif [[ "$arg" =~ ^[a-z]+-[a-z]+$ ]]; then
		echo "alerts.sh: unknown run $arg; runs are: ${runs[*]}" >&2
		exit 2
	else
		pass+=("$arg")
	fi
done
if [ "${#selected[@]}" -eq 0 ]; then
	selected=("${runs[@]}")
fi
wants() { [[ " ${selected[*]} " == *" $1 "* ]]; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/firebreak-alerts.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/firebreak" ./cmd/firebreak
go build -o "$tmp/alertload" ./bench/alertload

# build_alertmanager prints the path of an Alertmanager binary of the version in go.mod,
# building it the first time: cmd/alertmanager from a writable copy of the module, with the
# page its ui/app embed needs (the UI is not measured, an empty page will do).
am_version="$(go list -m -f '{{.Version}}' github.com/prometheus/alertmanager)"
build_alertmanager() {
	local version="$am_version" cache out src work
	cache="${XDG_CACHE_HOME:-$HOME/.cache}/firebreak-bench"
	out="$cache/alertmanager-$version"
	if [ ! -x "$out" ]; then
		echo "alerts.sh: building Alertmanager $version into $out (once, about a minute)" >&2
		go mod download github.com/prometheus/alertmanager
		src="$(go list -m -f '{{.Dir}}' github.com/prometheus/alertmanager)"
		work="$tmp/alertmanager-src"
		cp -r "$src" "$work"
		chmod -R u+w "$work"
		mkdir -p "$work/ui/app/dist" "$cache"
		echo '<!doctype html><title>Alertmanager</title>' >"$work/ui/app/dist/index.html"
		(cd "$work" && go build -ldflags "-X github.com/prometheus/common/version.Version=${version#v}" -o "$out.tmp.$$" ./cmd/alertmanager)
		mv "$out.tmp.$$" "$out"
		rm -rf "$work"
	fi
	echo "$out"
}

am=()
need_am=0
for r in "${selected[@]}"; do
	[[ "$am_runs" == *" $r "* ]] && need_am=1
done
if [ "$use_am" = 1 ] && [ "$need_am" = 1 ]; then
	bin="${FIREBREAK_BENCH_ALERTMANAGER:-}"
	if [ -z "$bin" ]; then
		bin="$(build_alertmanager)"
	fi
	am=(-alertmanager "$bin")
	echo "Alertmanager: $bin (go.mod has $am_version)"
fi

# A failed run does not stop the others; the script exits 1 at the end if any failed.
status=0

# measure NAME TITLE ARGS...: one alertload run, its output kept for the summary.
measure() {
	local name="$1" title="$2"
	shift 2
	echo
	echo "== $name: $title"
	"$tmp/alertload" -bin "$tmp/firebreak" "$@" | tee "$tmp/$name.txt" || status=1
}

# with_am NAME: the -alertmanager flag when NAME is compared with Alertmanager.
with_am() {
	if [[ "$am_runs" == *" $1 "* ]] && [ "${#am[@]}" -gt 0 ]; then
		printf '%s\n' "${am[@]}"
	fi
}

storm=(-storm 50000 -storm-groups 200)
for r in "${runs[@]}"; do
	wants "$r" || continue
	mapfile -t a < <(with_am "$r")
	case "$r" in
	sqlite-mix) measure "$r" "SQLite, the mix, empty database" -db sqlite "${a[@]}" "${pass[@]}" ;;
	sqlite-prefill)
		# Judged against the empty run's alerts/s (target: at least 80 %).
		baseline=""
		if [ -f "$tmp/sqlite-mix.txt" ]; then
			baseline="$(sed -n 's/^result .* alerts_per_sec=\([0-9.]*\) .*/\1/p' "$tmp/sqlite-mix.txt" | head -1)"
		fi
		[ -z "$baseline" ] && echo "(no sqlite-mix figure in this run: the prefilled run is not judged against it)"
		measure "$r" "SQLite, the mix, 1,000,000 alert rows stored first" -db sqlite -prefill 1000000 -baseline "${baseline:-0}" "${pass[@]}"
		;;
	pg-mix) measure "$r" "PostgreSQL, the mix, empty schema" -db postgres "${a[@]}" "${pass[@]}" ;;
	sqlite-new) measure "$r" "SQLite, every alert new" -db sqlite -mix new "${a[@]}" "${pass[@]}" ;;
	pg-new) measure "$r" "PostgreSQL, every alert new" -db postgres -mix new "${a[@]}" "${pass[@]}" ;;
	sqlite-storm) measure "$r" "SQLite, a storm of 50,000 new alerts over 200 groups, then its end (the same alerts resolved)" -db sqlite "${storm[@]}" "${a[@]}" "${pass[@]}" ;;
	pg-storm) measure "$r" "PostgreSQL, a storm of 50,000 new alerts over 200 groups, then its end (the same alerts resolved)" -db postgres "${storm[@]}" "${a[@]}" "${pass[@]}" ;;
	pg-twins) measure "$r" "PostgreSQL, two replicas, every payload sent to both (HA twins)" -db postgres -twins -duration 15s "${pass[@]}" ;;
	esac
done

echo
echo "== summary ($(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)${pass[*]:+, flags: ${pass[*]}})"
for r in "${runs[@]}"; do
	wants "$r" || continue
	# A storm's end has a line of its own (summary <label>-end: …), kept apart as <run>-end.
	grep -h '^summary ' "$tmp/$r.txt" 2>/dev/null | sed "s/^summary [^:]*-end: /$r-end: /; s/^summary [^:]*: /$r: /" | grep . ||
		echo "$r: FAILED, no figures (see its output above)"
done
exit "$status"
