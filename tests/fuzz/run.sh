#!/bin/sh
# run.sh — runs one libFuzzer target (tests/fuzz/CMakeLists.txt sets the environment).
#
#   run.sh fuzz      fuzz for SW_FUZZ_SECONDS (default 60) on a fresh copy of the seed corpus in
#                    the build directory (the repository is never written); a crash, leak or
#                    timeout leaves its input in SW_FUZZ_WORK/artifacts/<target>/ and fails
#   run.sh regress   runs every seed and every regressions/<target>/ file once
#
# Environment: SW_FUZZ_BIN, SW_FUZZ_TARGET, SW_FUZZ_SRC (tests/fuzz), SW_FUZZ_WORK (the build's
# tests/fuzz), SW_FUZZ_MAX_LEN; SW_FUZZ_SECONDS and SW_FUZZ_ARGS (extra libFuzzer flags) are yours.
set -eu
mode=$1
t=$SW_FUZZ_TARGET
seeds=$SW_FUZZ_SRC/corpus/$t
dict=$SW_FUZZ_SRC/$t.dict
set -- -max_len="$SW_FUZZ_MAX_LEN" -timeout=10 -rss_limit_mb=2048
[ -f "$dict" ] && set -- "$@" -dict="$dict"
case $mode in
fuzz)
    corpus=$SW_FUZZ_WORK/corpus-$t
    artifacts=$SW_FUZZ_WORK/artifacts/$t
    rm -rf "$corpus"
    mkdir -p "$corpus" "$artifacts"
    cp "$seeds"/* "$corpus"/
    # shellcheck disable=SC2086 # SW_FUZZ_ARGS is a list of flags
    exec "$SW_FUZZ_BIN" "$@" -max_total_time="${SW_FUZZ_SECONDS:-60}" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" ${SW_FUZZ_ARGS:-} "$corpus"
    ;;
regress)
    # Whole files (no -max_len): a regression input is run exactly as it was found.
    set -- -timeout=10 -rss_limit_mb=2048
    for f in "$seeds"/* "$SW_FUZZ_SRC/regressions/$t"/*; do
        [ -f "$f" ] && set -- "$@" "$f"
    done
    exec "$SW_FUZZ_BIN" "$@"
    ;;
*)
    echo "usage: run.sh fuzz|regress" >&2
    exit 2
    ;;
esac
