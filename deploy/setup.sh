#!/usr/bin/env bash
# spillwatch set-up: installs whatever is missing (Debian packages, npm packages from the lock
# files), builds, then runs the demo or every test.
#
#   deploy/setup.sh demo    set up, build, start the server on var/demo.db fed by the NA64mu
#                           simulator in real time, print the dashboard URL (Ctrl-C stops both)
#   deploy/setup.sh test    set up, build (warnings as errors) three times: plain, ASan/UBSan and
#                           the libFuzzer targets (clang), and run every CTest test in each build
#   deploy/setup.sh build   set up and build only
#
# Environment: SW_PORT (demo port, default 8080), SW_CYCLE (demo SPS cycle in s, default 16.8),
# SW_JOBS (parallel build jobs), SW_SKIP_APT=1 (do not touch Debian packages), SW_FUZZ_SECONDS
# (length of each fuzz target's run in the test, default 60; docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-build}
jobs=${SW_JOBS:-$(nproc)}

# The demo's SPS cycle, checked before anything is installed: the simulator's spill lasts 4.8 s (the
# SPS flat top), so a shorter cycle would overlap the spills.
cycle=${SW_CYCLE:-16.8}
if [ "$mode" = demo ] && ! awk -v c="$cycle" 'BEGIN { exit !(c + 0 >= 4.8 && c + 0 <= 3600) }'; then
    echo "setup: SW_CYCLE=$cycle: the SPS cycle must be at least the 4.8 s spill and at most 3600 s" >&2
    exit 2
fi

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi
}

install_packages() { # install_packages MODE
    [ "${SW_SKIP_APT:-0}" = 1 ] && return 0
    # build + runtime libraries (libpq: a `db` may be a postgresql:// URI), python3 (the build lists the
    # integration tests with it) and curl (the demo waits for /health with it): all a demo needs
    local pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev
        libpq-dev libcurl4-openssl-dev libssl-dev zlib1g-dev python3 curl)
    # the tests also need: sqlite3, promtool (prometheus), Chromium, the formatter; the
    # deployment tests run real nginx + openssl (TLS proxy) and systemd-analyze verify (units; no PID 1
    # needed); clang with libFuzzer and the sanitizer runtimes (the fuzz build); the zone database
    # (display.timezone is checked against it); simdjson, for the second ingest ceiling that bench_smoke
    # runs (bench/simdjson_ceiling.cpp, C++ from build-essential's g++: a benchmark helper, never linked
    # by the server; without it the build leaves the helper out and the bench prints no simdjson ratio);
    # PostgreSQL 15 (the pg tests initdb their own cluster in the build tree, as nobody, on a free
    # loopback port: the package's own cluster and service are not used)
    [ "$1" = test ] && pkgs+=(sqlite3 clang-format chromium prometheus nginx openssl systemd clang
        libclang-rt-14-dev tzdata libsimdjson-dev postgresql-15 postgresql-client-15)
    command -v node >/dev/null || pkgs+=(nodejs)
    command -v npm >/dev/null || pkgs+=(npm)
    local missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        # prometheus is only here for promtool, nginx for the proxy test (which runs its own nginx as a
        # child): their services are not needed.
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
}

install_npm() { # install_npm MODE: the dashboards' packages; the browser tests' only for the tests
    local dirs=(www)
    [ "$1" = test ] && dirs+=(tests/browser)
    for dir in "${dirs[@]}"; do
        if [ -f "$dir/package-lock.json" ] && { [ ! -d "$dir/node_modules" ] ||
            [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; }; then
            say "npm ci in $dir"
            (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        fi
    done
}

build() { # build DIR [cmake args...]
    local dir=$1
    shift
    say "building in $dir"
    cmake -S "$root" -B "$dir" -DSW_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
}

install_packages "$mode"
install_npm "$mode"
build build -DCMAKE_BUILD_TYPE=RelWithDebInfo

case "$mode" in
build) ;;
test)
    build build-asan -DCMAKE_BUILD_TYPE=Debug -DSW_SANITIZE=ON
    # The fuzz build holds only the fuzz targets (and the server sources they instrument).
    CC=clang build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSW_FUZZ=ON
    say "format check"
    clang-format --dry-run -Werror server/*.c server/*.h collectors/*.c collectors/*.h tests/unit/*.c tests/unit/*.h \
        tests/fuzz/*.c tests/fuzz/*.h bench/*.c
    say "tests (plain build)"
    (cd build && ctest --output-on-failure -j 2)
    say "tests (ASan/UBSan build)"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    (cd build-asan && ctest --output-on-failure -j 2 -LE browser)
    say "tests (libFuzzer build: the regression inputs, and ${SW_FUZZ_SECONDS:-60} s of fuzzing per target)"
    (cd build-fuzz && ctest --output-on-failure -j 2)
    ;;
demo)
    port=${SW_PORT:-8080}
    mkdir -p var
    say "starting spillwatch on http://127.0.0.1:$port/"
    # Logs go to files, so that the URL stays on the screen.
    ./build/spillwatch --config config/spillwatch.json --listen "127.0.0.1:$port" --db var/demo.db \
        >var/demo-server.log 2>&1 &
    server=$!
    trap 'kill $sim $server 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1 && break; sleep 0.1; done
    run=$(( $(date +%s) / 60 % 100000 ))
    ./build/spillwatch-collect sim --url "http://127.0.0.1:$port" --run "$run" --forever --realtime \
        --cycle "$cycle" --fault beam_momentum@4 --fault hcal_dead@7 --fault halo@11 --mot-goal 1e8 \
        >var/demo-sim.log 2>&1 &
    sim=$!
    echo
    echo "  spillwatch demo: open http://127.0.0.1:$port/  (run $run, a spill every $cycle s;"
    echo "  faults injected on spills 4, 7 and 11). Logs: var/demo-server.log, var/demo-sim.log. Ctrl-C stops."
    echo
    wait $server
    ;;
*)
    echo "usage: deploy/setup.sh [build|test|demo]" >&2
    exit 2
    ;;
esac
