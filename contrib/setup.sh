#!/usr/bin/env bash
# Seula set-up on Debian 12, as root.  Installs only what is missing, so a
# second run is quick.
#
#   contrib/setup.sh demo    install, build (release), start the server with
#                            contrib/seula.ini.example and the demo site
#   contrib/setup.sh test    install, build with ASan+UBSan, run every test
#   contrib/setup.sh build   install and build the release binary only
#   contrib/setup.sh bench [MODE]
#                            install what the benchmarks need too, build
#                            (release) and run tests/bench/run.sh MODE
#
# Environment: SEULA_JOBS (parallel build/test jobs, default: cores),
# SEULA_FUZZ_SECONDS (each libFuzzer run in the tests, default 60).
set -euo pipefail

mode=${1:-}
case "$mode" in
demo | test | build | bench) ;;
*)
	echo "usage: $0 demo|test|build|bench [MODE]" >&2
	exit 2
	;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${SEULA_JOBS:-$(nproc)}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# ---- Debian packages -------------------------------------------------------
# What building and running needs.
run_pkgs=(cmake make gcc pkg-config libc6-dev
	libevent-dev libsqlite3-dev sqlite3 libmaxminddb-dev uuid-dev
	libsodium-dev libjansson-dev libinih-dev libpcre2-dev libyaml-dev
	libpwquality-dev cracklib-runtime john-data libicu-dev
	libcsv-dev libhpdf-dev fonts-dejavu-core libarchive-dev zlib1g-dev)
# zlib gzips the static files (the tracker, the banner) once at start.
# The customer register reads CSV imports with libcsv and prints label
# sheets with libharu in DejaVu Sans (every Latin, Greek and Cyrillic name).
# A data subject's access export is a zip written with libarchive.
# libpwquality checks staff passwords against cracklib's dictionary
# (cracklib-runtime) and Seula against Openwall's list of the most used
# passwords (john-data's password.lst).
# What the tests need on top: unit tests, integration tests, the browser,
# clang with its runtime for libFuzzer, and uap-core's own test files (the
# user-agent accuracy test).
test_pkgs=(libcmocka-dev python3 chromium clang libclang-rt-14-dev uap-core)
# What the benchmarks run against and with (tests/bench/README.md): wrk
# for the load, nginx and GoAccess to compare with, uap-core's test
# agents, sqlite3 and python3 to count rows and generate logs.
bench_pkgs=(wrk nginx-light goaccess uap-core python3)

missing=()
want=("${run_pkgs[@]}")
[ "$mode" = test ] && want+=("${test_pkgs[@]}")
[ "$mode" = bench ] && want+=("${bench_pkgs[@]}")
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
# npm brings the enrichment data (user-agent patterns, crawler and referrer
# lists, a country database) and the browser-test driver: any installed
# Node.js will do, Debian's otherwise.
if ! command -v npm >/dev/null 2>&1; then
	missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing Debian packages: ${missing[*]}; run as root (or install them)" >&2
		exit 1
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- npm packages (package-lock.json) -----------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	say "installing npm packages (package-lock.json)"
	npm ci --no-audit --no-fund --loglevel=error
fi

# ---- build -----------------------------------------------------------------
if [ "$mode" = test ]; then
	build=build/test
	say "building $build (ASan + UBSan, -Werror)"
	cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSEULA_SANITIZE=ON \
		-DSEULA_WERROR=ON -DSEULA_FUZZ=ON \
		-DSEULA_FUZZ_SECONDS="${SEULA_FUZZ_SECONDS:-60}" >/dev/null
else
	build=build/release
	say "building $build"
	cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEULA_SANITIZE=OFF \
		-DBUILD_TESTING=OFF >/dev/null
fi
cmake --build "$build" -j "$jobs"

# ---- run -------------------------------------------------------------------
case "$mode" in
build)
	say "built $build/seula"
	;;
bench)
	say "running tests/bench/run.sh ${*:2}"
	BENCH_NO_BUILD=1 exec tests/bench/run.sh "${@:2}"
	;;
test)
	say "running the tests (ctest -L unit|integration|http|browser|fuzz runs one part)"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	cd "$build"
	ctest --output-on-failure -j "$jobs"
	;;
demo)
	config=contrib/seula.ini.example
	listen=$(sed -n 's/^listen *= *//p' "$config" | head -n1)
	base="http://$listen"
	# No account comes with Seula.  The demo makes one admin with a random
	# password, kept (mode 0600) beside the demo database to be shown again.
	pwfile=var/demo-admin-password
	# Only serve and migrate make the database; the account and the
	# history below go into it before the server starts.
	"$build/seula" migrate --config "$config" >/dev/null
	if ! "$build/seula" user list --config "$config" | awk '$1 == "demo" { f = 1 } END { exit !f }'; then
		mkdir -p var
		(umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$pwfile")
		"$build/seula" user add demo --role admin --config "$config" <"$pwfile" >/dev/null
	fi
	# Two months of made-up history for the demo site, once, so that the
	# dashboard has something to show before the first visit.
	if [ ! -e var/demo-history-imported ]; then
		say "importing two months of made-up demo traffic (contrib/demo-history.mjs)"
		node contrib/demo-history.mjs |
			"$build/seula" import-log --config "$config" --site demo --quiet - &&
			touch var/demo-history-imported
	fi
	cat <<EOF

DEMO ONLY - a staff admin account for trying Seula out:
  name: demo    password: $(cat "$pwfile" 2>/dev/null || echo "(see $pwfile)")
Sign in at $base/login/.  For real use, make your own accounts
(seula user add NAME --role admin) and disable this one:
  $build/seula user disable demo --config $config

Seula is starting with $config and its database var/seula.db.
Open:
  $base/demo/         the demo site, with the consent banner and the tracker
  $base/privacy       the privacy statement generated from the config
  $base/              the statistics dashboard (sign in as the demo admin;
                      the 60 days before today are made-up history)
  $base/about/        what Seula is and what it promises
  $base/login/        staff sign-in (the demo admin above)
  $base/admin/        customer service: the register and data subject
                      requests; its exports and audit log pages
  $base/seula.js      the tracker to embed in a site
  $base/api/health    the health check
Stop with Ctrl-C (it commits what is queued and exits).

EOF
	"$build/seula" serve --config "$config" &
	server=$!
	# A background job of a script starts with SIGINT ignored; the server
	# takes it anyway, and the trap passes a TERM on for good measure.
	trap 'kill -TERM "$server" 2>/dev/null' INT TERM
	# A made-up register, once, through the staff API (so it is audited
	# like customer service's own work), for the admin pages to show.
	if [ ! -e var/demo-customers-imported ]; then
		if node contrib/demo-customers.mjs "$base" demo <"$pwfile"; then
			touch var/demo-customers-imported
		else
			say "the demo register stays empty (see above)"
		fi
	fi
	status=0
	wait "$server" || status=$?
	# wait ends early when a trapped signal comes; the server's own status
	# comes when it has exited.
	while kill -0 "$server" 2>/dev/null; do
		status=0
		wait "$server" || status=$?
	done
	exit "$status"
	;;
esac
