#!/usr/bin/env bash
# bench_smoke: a short real run of ecert-bench against a private devnet, for every
# workload (register, issue, inspect, query, verify, contract, evidence): each must finish with
# every request acknowledged and report the figures docs/PERFORMANCE.md relies on. No timing is
# asserted (this machine is shared and noisy); scripts/bench does the measuring.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up"
devnet_up
bench=$ECERT_BUILD/client/ecert-bench

# run WORKLOAD ARGS...: one JSON report in $T/WORKLOAD.json, every request acknowledged.
run() {
    local w=$1
    shift
    say "ecert-bench --workload $w $*"
    "$bench" --devnet "$ECERT_DEVNET_DIR" --workload "$w" --json --quiet "$@" >"$T/$w.json" ||
        fail "ecert-bench $w failed: $(cat "$T/$w.json")"
    jq -e '.ed25519_verify_per_s > 0' "$T/$w.json" >/dev/null || fail "$w: no Ed25519 rate"
}
expect_all_ok() { # WORKLOAD COUNT
    jq -e ".ok == $2 and .failed == 0 and .per_second > 0 and .latency_ms.p99 >= .latency_ms.p50" \
        "$T/$1.json" >/dev/null || fail "$1: $(cat "$T/$1.json")"
}

run register --count 300
expect_all_ok register 300
run issue --count 400 --signers 4 --plot "$T/issue.png"
expect_all_ok issue 400
jq -e '.anchor_lag_ms.samples > 0 and (.daemons | length) >= 3' "$T/issue.json" >/dev/null ||
    fail "issue: no anchoring lag or daemon figures: $(cat "$T/issue.json")"
[ -s "$T/issue.png" ] || fail "issue: --plot wrote no chart"
run inspect --count 200 --signers 2
expect_all_ok inspect 200
run query --count 1000 --signers 2
expect_all_ok query 1000
run contract --count 300 --signers 1
expect_all_ok contract 300
run evidence --count 3000
jq -e '.ok == 1 and .failed == 0 and .evidence.files == 3000 and .evidence.batches == 1 and
    .evidence.files_per_s > 0 and .per_second == .evidence.files_per_s and .ratio_to_ed25519 > 0' \
    "$T/evidence.json" >/dev/null || fail "evidence: $(cat "$T/evidence.json")"
[ -z "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'ecert-bench-evidence-*' -newer "$T/issue.json" \
    2>/dev/null)" ] || fail "evidence: its temporary files were left behind"
run verify --signers 1
jq -e '.verify.trusted_header_per_s > 0 and .verify.valset_per_s > 0 and .verify.bundle_bytes > 500' \
    "$T/verify.json" >/dev/null || fail "verify: $(cat "$T/verify.json")"

say "ecert-bench --private starts its own network, measures, and removes it"
"$bench" --private --workload issue --count 200 --signers 2 --json --quiet \
    >"$T/private.json" 2>"$T/private.err" 8>&- 9>&- || fail "--private: $(cat "$T/private.err")"
jq -e '.ok == 200 and .failed == 0' "$T/private.json" >/dev/null || fail "--private: $(cat "$T/private.json")"
private_dir=$(sed -n 's/^ecert-bench: starting a private network in \([^ ]*\) .*/\1/p' "$T/private.err" |
    tail -n 1) # the last attempt (a failed start is retried in a fresh folder)
[ -n "$private_dir" ] || fail "--private did not say where it ran: $(cat "$T/private.err")"
[ ! -e "$private_dir" ] || fail "--private left $private_dir behind"

say "a bad option is refused with exit 2"
set +e
"$bench" --devnet "$ECERT_DEVNET_DIR" --workload nonsense >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown workload: exit $rc, want 2"

test_passed=1
say "ok"
