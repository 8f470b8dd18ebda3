#!/usr/bin/env bash
# The collect benchmark at several connection counts: each variant's best
# rate, its capacity, and not only its rate at one concurrency.
#
#   tests/bench/sweep.sh [CONNECTIONS...]      default: 64 128 256 512
#
# With 64 connections each waiting for its answer, Seula's event loop and
# writer take turns more than they overlap: a variant that lengthens the
# writer's turn (the analytics plugin) loses rate there although the CPUs
# are not busy, and regains it as more requests are in flight, while the
# event loop of a lighter variant saturates and slows as connections grow
# (tests/bench/README.md).  So a plugin's cost to throughput is the ratio
# of the best rates, which this prints beside every count's.
#
# Runs `run.sh http` once per count (BENCH_CONNECTIONS), with run.sh's
# environment (BENCH_VARIANTS, default "full analytics"; BENCH_DURATION,
# default 20; BENCH_NO_BUILD...); BENCH_REPEAT is 1.  Prints req/s, p99 and
# the event loop's and writer's CPU per variant and count, each variant's
# best req/s and at which count, and each variant's best over the first's.
set -euo pipefail

conns=("$@")
[ ${#conns[@]} -gt 0 ] || conns=(64 128 256 512)
for c in "${conns[@]}"; do
	[[ "$c" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [CONNECTIONS...]" >&2; exit 2; }
done
variants=${BENCH_VARIANTS:-full analytics}
export BENCH_VARIANTS="$variants" BENCH_REPEAT=1
export BENCH_DURATION=${BENCH_DURATION:-20}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/seula-sweep.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

first=1
for c in "${conns[@]}"; do
	printf '==> %s connections\n' "$c" >&2
	out="$work/run-$c.txt"
	if ! BENCH_CONNECTIONS=$c "$here/run.sh" http >"$out" 2>"$out.err"; then
		cat "$out" "$out.err" >&2
		echo "$0: run.sh failed at $c connections" >&2
		exit 1
	fi
	# Later counts reuse the build.
	[ "$first" = 1 ] && export BENCH_NO_BUILD=1
	first=0
done

# Per count and Seula row: count|name|req/s|p99|main%|writer%.
for c in "${conns[@]}"; do
	out="$work/run-$c.txt"
	while IFS='|' read -r name rate p99 _; do
		# "  NAME  main 85%, writer 39%" under the table.
		cpu=$(grep -F "  $name " "$out" | grep -E ' main [0-9]+%' |
			sed -E 's/.* main ([0-9]+)%.*/\1/' | head -1)
		wr=$(grep -F "  $name " "$out" | grep -E ' writer [0-9]+%' |
			sed -E 's/.* writer ([0-9]+)%.*/\1/' | head -1)
		echo "$c|$name|$rate|$p99|${cpu:--}|${wr:--}"
	done < <(awk -f "$here/table_rows.awk" "$out")
done >"$work/rows.txt"

echo "wrk -t${BENCH_THREADS:-2}, ${BENCH_DURATION}s a run, one run a count; req/s (p99 ms; event loop, writer CPU %)"
names=$(cut -d'|' -f2 "$work/rows.txt" | awk '!seen[$0]++')
base=""
while IFS= read -r n; do
	line=$(printf '%-34s' "$n")
	best=0 at=""
	for c in "${conns[@]}"; do
		row=$(awk -F'|' -v c="$c" -v n="$n" '$1 == c && $2 == n' "$work/rows.txt")
		if [ -z "$row" ]; then
			line+="  $c: -"
			continue
		fi
		IFS='|' read -r _ _ rate p99 main wr <<<"$row"
		line+="  $c: $rate ($p99; $main, $wr)"
		if [ "$rate" -gt "$best" ]; then best=$rate at=$c; fi
	done
	[ -n "$base" ] || base=$best
	echo "$line"
	echo "    best $best req/s at $at connections; best over the first variant's best: $(awk -v x="$best" -v y="$base" 'BEGIN {printf "%.2f", x / y}')"
done <<<"$names"
