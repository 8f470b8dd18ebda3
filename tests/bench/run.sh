#!/usr/bin/env bash
# Seula's collect benchmark: nginx answering 204 and Seula's durable,
# group-committed collect path, measured in one run under the same wrk load,
# printed side by side.  Then the C harness for the writer alone.
#
#   tests/bench/run.sh            everything
#   tests/bench/run.sh http       only the HTTP comparison
#   tests/bench/run.sh store      only the writer harness
#
# Environment: BENCH_SECONDS (10), BENCH_WARMUP (3), BENCH_CONNECTIONS (64),
# BENCH_THREADS (wrk threads, 1).  Needs wrk and nginx (Debian: wrk,
# nginx-light); installs them when run as root.
#
# wrk, nginx and Seula share the machine: the figures compare the two servers
# on equal terms, not the machine's limit.
set -euo pipefail

what=${1:-all}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-3}
conns=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-1}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install ${need[*]} first (as root: apt-get install ${need[*]})" >&2
		exit 1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "==> building build/release"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DSEULA_SANITIZE=OFF -DBUILD_TESTING=OFF >/dev/null
cmake --build build/release -j "$(nproc)" >/dev/null

work=$(mktemp -d /tmp/seula-bench-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$work/nginx/nginx.pid" ] && "$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -s stop 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# run_wrk URL -> prints the RESULT line of the measured run
run_wrk() {
	wrk -t"$threads" -c"$conns" -d"${warmup}s" -s tests/bench/collect.lua "$1/api/collect" >/dev/null
	wrk -t"$threads" -c"$conns" -d"${seconds}s" -s tests/bench/collect.lua "$1/api/collect" | grep '^RESULT'
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

declare -a names results rss checks

bench_nginx() {
	mkdir -p "$work/nginx/logs"
	local port
	port=$(free_port)
	cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    client_body_buffer_size 64k;
    server {
        listen 127.0.0.1:$port backlog=1024;
        location = /api/collect { return 204; }
    }
}
EOF
	"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf"
	sleep 0.3
	local r
	r=$(run_wrk "http://127.0.0.1:$port")
	local total=0
	for p in $(pgrep -f "nginx: worker process" || true); do
		total=$((total + $(awk '/VmHWM/{print $2}' /proc/"$p"/status 2>/dev/null || echo 0)))
	done
	"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -s stop
	names+=("nginx 204 (baseline)")
	results+=("$r")
	rss+=("${total} kB (workers)")
	checks+=("-")
}

# bench_seula NAME SYNC PLUGINS WORKERS
bench_seula() {
	local name=$1 sync=$2 plugins=$3 workers=$4
	local dir="$work/$RANDOM"
	mkdir -p "$dir"
	cat >"$dir/seula.ini" <<EOF
[server]
listen = 127.0.0.1:0
db = $dir/seula.db
web_root = $root/web
plugin_dir = $root/build/release/plugins
workers = $workers
synchronous = $sync
trusted_proxies = 127.0.0.1/8, ::1
log_level = warn
[limits]
queue_capacity = 100000
batch_max_events = 5000
[plugins]
load = $plugins
[site.demo]
domains = example.com, localhost, 127.0.0.1
EOF
	build/release/seula serve --config "$dir/seula.ini" >"$dir/out" 2>"$dir/err" &
	local pid=$!
	pids+=("$pid")
	local i=0
	until [ -s "$dir/out" ] || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
	local url
	url=$(awk '{print $3}' "$dir/out")
	# Rows before the measured run, to check every 2xx was stored.
	wrk -t"$threads" -c"$conns" -d"${warmup}s" -s tests/bench/collect.lua "$url/api/collect" >/dev/null
	local before
	before=$(sqlite3 "$dir/seula.db" 'SELECT count(*) FROM events')
	local r
	r=$(wrk -t"$threads" -c"$conns" -d"${seconds}s" -s tests/bench/collect.lua "$url/api/collect" | grep '^RESULT')
	local hwm
	hwm=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
	kill -TERM "$pid"
	wait "$pid" || true
	local after
	after=$(sqlite3 "$dir/seula.db" 'SELECT count(*) FROM events')
	local ok=$(($(field requests "$r") - $(field non2xx "$r")))
	local stored=$((after - before))
	names+=("$name")
	results+=("$r")
	rss+=("$hwm kB")
	# wrk may count a few replies of the last instant as timed out while
	# the server stored them: stored >= acknowledged is the promise.
	if [ "$stored" -ge "$ok" ]; then checks+=("ok: $stored stored >= $ok acknowledged"); else checks+=("LOST: $stored stored < $ok acknowledged"); fi
}

http_bench() {
	echo "==> HTTP: wrk -t$threads -c$conns, ${warmup}s warm-up + ${seconds}s measured, $(nproc) cores shared by wrk and the server"
	bench_nginx
	bench_seula "seula full+anonymize" full anonymize 1
	bench_seula "seula normal+anonymize" normal anonymize 1
	bench_seula "seula full, no plugins" full "" 1
	bench_seula "seula full+anonymize, 2 workers" full anonymize 2
	local base
	base=$(field rps "${results[0]}")
	echo
	printf '%-34s %9s %7s %8s %8s %7s %16s  %s\n' "server" "req/s" "ratio" "p50 ms" "p99 ms" "non2xx" "peak RSS" "check"
	for i in "${!names[@]}"; do
		local r=${results[$i]}
		printf '%-34s %9s %7s %8s %8s %7s %16s  %s\n' "${names[$i]}" "$(field rps "$r")" \
			"$(awk -v a="$(field rps "$r")" -v b="$base" 'BEGIN{printf "%.2f", a/b}')" \
			"$(field p50_ms "$r")" "$(field p99_ms "$r")" "$(field non2xx "$r")" "${rss[$i]}" "${checks[$i]}"
	done
	echo
}

store_bench() {
	echo "==> writer alone (tests/bench/store_bench.c): events/s through seula_store_submit"
	cc -O2 -std=c17 -D_GNU_SOURCE -Icore -Iinclude tests/bench/store_bench.c build/release/libseula_core.a \
		$(pkg-config --cflags --libs libevent libevent_pthreads sqlite3 libsodium jansson inih uuid) \
		-ldl -lpthread -o "$work/store_bench"
	"$work/store_bench" "$work"
	echo
}

case "$what" in
all) http_bench; store_bench ;;
http) http_bench ;;
store) store_bench ;;
*) echo "usage: $0 [all|http|store]" >&2; exit 2 ;;
esac
