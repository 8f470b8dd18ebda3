#!/usr/bin/env bash
# Two builds of Seula on the collect benchmark, in turns: A, B, A, B...
#
#   tests/bench/ab.sh REV_A REV_B [ROUNDS]
#
# REV_A and REV_B are git revisions of this repository (a commit, a branch,
# HEAD~2).  Each is checked out into a temp worktree and built as run.sh
# builds build/release; then each round runs `run.sh http` once for A and
# once for B, each with its own run.sh.  Taking turns matters on a VM:
# the same build's rate moved 11% between two runs an hour apart here,
# more than most changes one wants to see (tests/bench/README.md), and a
# drift then falls on both builds alike.
#
# Environment: ROUNDS [3]; BENCH_VARIANTS ["full analytics"];
# BENCH_DURATION [20]; BENCH_WARMUP [3]; the rest of run.sh's knobs are
# passed through.  BENCH_REPEAT is 1: a round is one run of each.
#
# Prints, per build and variant, each round's req/s, p99 and server
# microseconds a request, the median of the rounds' req/s, and each
# round's ratio of the last variant to the first (analytics/full by
# default).  The worktrees and builds are removed at the end.
set -euo pipefail

usage() {
	echo "usage: $0 REV_A REV_B [ROUNDS]" >&2
	exit 2
}
[ $# -ge 2 ] && [ $# -le 3 ] || usage
rev_a=$1
rev_b=$2
rounds=${3:-${ROUNDS:-3}}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || usage
variants=${BENCH_VARIANTS:-full analytics}
export BENCH_DURATION=${BENCH_DURATION:-20}
export BENCH_WARMUP=${BENCH_WARMUP:-3}
export BENCH_REPEAT=1 BENCH_NO_BUILD=1 BENCH_VARIANTS="$variants"

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(mktemp -d "${TMPDIR:-/tmp}/seula-ab.XXXXXX")
cleanup() {
	for w in "$work"/a "$work"/b; do
		[ -d "$w" ] && git -C "$repo" worktree remove --force "$w" >/dev/null 2>&1
	done
	git -C "$repo" worktree prune
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '==> %s\n' "$*" >&2; }

for side in a b; do
	rev=$rev_a
	[ "$side" = b ] && rev=$rev_b
	commit=$(git -C "$repo" rev-parse --verify --quiet "$rev^{commit}") ||
		{ echo "$0: not a revision: $rev" >&2; exit 2; }
	say "$side: $rev ($commit), building"
	git -C "$repo" worktree add --detach --quiet "$work/$side" "$commit"
	if ! { cmake -S "$work/$side" -B "$work/$side/build/release" \
		-DCMAKE_BUILD_TYPE=Release -DSEULA_SANITIZE=OFF -DBUILD_TESTING=OFF &&
		cmake --build "$work/$side/build/release" -j "$(nproc)"; } \
		>"$work/build-$side.log" 2>&1; then
		cat "$work/build-$side.log" >&2
		echo "$0: $rev did not build" >&2
		exit 1
	fi
done

names=()
declare -A got # [side,row index,round] = "req/s p99 us/req"
for r in $(seq "$rounds"); do
	for side in a b; do
		say "round $r of $rounds: $side"
		out="$work/run-$side-$r.txt"
		if ! (cd "$work/$side" && tests/bench/run.sh http) >"$out" 2>"$out.err"; then
			cat "$out" "$out.err" >&2
			echo "$0: run.sh failed (round $r, $side)" >&2
			exit 1
		fi
		i=0
		while IFS='|' read -r name rate p99 us; do
			if [ "$r" = 1 ] && [ "$side" = a ]; then
				names+=("$name")
			elif [ "${names[$i]:-}" != "$name" ]; then
				echo "$0: rows differ between runs (${names[$i]:-none} / $name)" >&2
				exit 1
			fi
			got[$side,$i,$r]="$rate $p99 $us"
			i=$((i + 1))
		done < <(awk -f "$repo/tests/bench/table_rows.awk" "$out")
		[ "$i" = "${#names[@]}" ] && [ "$i" -gt 0 ] ||
			{ cat "$out" >&2; echo "$0: no rows, or not the same rows" >&2; exit 1; }
	done
done

median() { tr ' ' '\n' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "A: $rev_a   B: $rev_b   $rounds rounds, A then B each, ${BENCH_DURATION}s a run"
printf '%-4s %-48s %s\n' build variant "req/s (p99 ms, us/req) per round; median req/s"
for side in a b; do
	for i in "${!names[@]}"; do
		cells="" rates=""
		for r in $(seq "$rounds"); do
			read -r rate p99 us <<<"${got[$side,$i,$r]}"
			cells+="$rate ($p99, $us)  "
			rates+="$rate "
		done
		printf '%-4s %-48s %s; %s\n' "${side^^}" "${names[$i]}" "$cells" \
			"$(echo "$rates" | xargs | median)"
	done
done
last=$((${#names[@]} - 1))
if [ "$last" -gt 0 ]; then
	for side in a b; do
		ratios=""
		for r in $(seq "$rounds"); do
			read -r first _ <<<"${got[$side,0,$r]}"
			read -r other _ <<<"${got[$side,$last,$r]}"
			ratios+="$(awk -v x="$other" -v y="$first" 'BEGIN {printf "%.2f", x / y}') "
		done
		echo "${side^^}: ${names[$last]#seula } / ${names[0]#seula }, per round: $ratios"
	done
fi
