#!/bin/sh
# Runs one libFuzzer target over a temporary copy of its seed corpus, so new inputs that
# libFuzzer saves never land in the source tree. Crash inputs (crash-*, leak-*, oom-*) are
# written to the current directory (the build directory under meson test) and kept.
#
# Usage: run.sh FUZZER CORPUS_DIR [extra libFuzzer flags...]
# FUZZ_SECONDS (default 4: ./scripts/test runs every target, and the suite must stay under
# 15 minutes) sets -max_total_time.
set -eu
fuzzer=$1
corpus=$2
shift 2
case "$fuzzer" in
    */*) ;;
    *) fuzzer="./$fuzzer" ;; # meson passes a path relative to the build directory
esac
work=$(mktemp -d "${TMPDIR:-/tmp}/ecert-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
if [ -d "$corpus" ]; then
    cp -R "$corpus"/. "$work/"
fi
status=0
"$fuzzer" -max_total_time="${FUZZ_SECONDS:-4}" -rss_limit_mb=2048 "$@" "$work" || status=$?
exit "$status"
