#!/usr/bin/env bash
# cert_status: what a verifier at the counter learns of a certificate beyond its proof.
# The demo's certificate verifies as VALID with a status list fetched from the chain; its
# history lists every transaction; `cert get` finds it from the id alone and writes its
# proof. Suspended, it stops verifying (with a fresh list or --online), while a list
# fetched before still says valid and shows its age (the offline verifier's trade-off);
# reinstated, it verifies again. On an idle side chain (every block with certificates
# anchored, the tip a newer block of MAIN_ANCHORs that nothing anchors) the list is
# fetched without waiting, proven by the block anchored last, and the gateway serves it. The supervisor's audit lists every transaction on the
# certificate, each proven, and everything about the citizen's identity. A second
# certificate cancelled by its holder verifies as
# ended, a revoked one as revoked, an expired one as expired, each with exit 1 and its own
# words. Refusals: a holder cannot suspend, a certificate not suspended cannot be
# reinstated, a revoked one cannot be cancelled. A status list with one byte changed, or
# of another chain, is refused.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up + demo"
devnet_up_with_demo
load_passphrase
genesis=$ECERT_DEVNET_DIR/main/genesis.yaml

# verify_cert BUNDLE ARGS...: ecert verify against the devnet's genesis, output in $T/v.log.
verify_cert() {
    local bundle=$1
    shift
    ecert verify --bundle "$bundle" --main-genesis "$genesis" "$@" >"$T/v.log" 2>&1
}
# expect_not_valid WHAT BUNDLE ARGS...: exit 1 and "NOT valid: ... WHAT" in the output.
expect_not_valid() {
    local what=$1 rc=0
    shift
    verify_cert "$@" || rc=$?
    [ "$rc" -eq 1 ] || {
        cat "$T/v.log" >&2
        fail "verify of a $what certificate exited $rc, want 1"
    }
    grep -q "NOT valid: .*$what" "$T/v.log" || {
        cat "$T/v.log" >&2
        fail "verify does not say the certificate is $what"
    }
}
fetch_list() { # out-file
    run_logged fetch.log "status-list fetch failed" ecert status-list fetch --type "$CERT_TYPE" \
        --out "$1" --wait-ms 60000
}

say "a valid certificate, with a status list fetched now"
fetch_list "$T/valid.status"
grep -q "certificate(s) of" "$T/fetch.log" || fail "status-list fetch does not say what it wrote"
verify_cert "$BUNDLE" --status-list "$T/valid.status" || {
    cat "$T/v.log" >&2
    fail "the demo's certificate does not verify with its status"
}
grep -q "^status  *valid (status list of side block" "$T/v.log" || fail "no status line"
grep -q "^verdict  *VALID" "$T/v.log" || fail "no VALID verdict"
verify_cert "$BUNDLE" || fail "verify without a status list failed"
grep -q "status  *not checked" "$T/v.log" || fail "verify without a list does not say so"

say "an idle side chain's list, without waiting: proven by the block anchored last"
# True once every block with certificates is anchored and the tip is past the anchored one.
side_idle() {
    ecert --json chain status --type "$CERT_TYPE" | jq -e --arg t "$CERT_TYPE" \
        '.chains[] | select(.type == $t) | .unanchored_blocks == 0 and .anchor_lag > 0'
}
wait_for 60 side_idle || fail "the side chain did not settle with an anchor-only tip"
run_logged idle.json "status-list fetch --wait-ms 0 failed on an idle side chain" \
    ecert --json status-list fetch --type "$CERT_TYPE" --out "$T/idle.status" --wait-ms 0
idle=$(cat "$T/idle.json")
[ "$(json_field side_height "$idle")" = "$(json_field anchored_height "$idle")" ] ||
    fail "the idle list is not proven by an anchored block: $idle"
verify_cert "$BUNDLE" --status-list "$T/idle.status" || {
    cat "$T/v.log" >&2
    fail "the idle chain's status list does not verify"
}
grep -q "^verdict  *VALID" "$T/v.log" || fail "no VALID verdict with the idle chain's list"
code=$(curl -s -o "$T/gw.json" -w '%{http_code}' \
    "http://127.0.0.1:$((ECERT_PORT_BASE + 600))/api/v1/chains/$CERT_TYPE/status-list")
[ "$code" = 200 ] || fail "the gateway's status-list answered $code: $(cat "$T/gw.json")"
jq -r .object "$T/gw.json" | base64 -d >"$T/gw.status"
verify_cert "$BUNDLE" --status-list "$T/gw.status" || fail "the gateway's status list"

say "the certificate from its id alone; its proof; its history"
run_logged get.log "cert get by id failed" ecert cert get --type "$CERT_TYPE" --tx "$CERT_TX" \
    --proof "$T/get.proof" --wait-ms 60000
grep -q "^status  *acknowledged" "$T/get.log" || fail "cert get: not acknowledged"
verify_cert "$T/get.proof" --status-list "$T/valid.status" || fail "cert get --proof: no bundle"
history() {
    run_logged history.log "cert history failed" ecert cert history --type "$CERT_TYPE" \
        --cert "$CERT_TX"
}
history
for action in ISSUE ACK INSPECT; do
    grep -q " $action " "$T/history.log" || fail "history lacks $action"
done
[ "$(awk '$2 == "ISSUE" {print $1}' "$T/history.log")" = 0 ] || fail "history does not start with ISSUE"
# an entry's own proof: the inspection's bundle names the certificate and shows the verdict
inspect_tx=$(awk '$2 == "INSPECT" {print $5}' "$T/history.log")
run_logged proof_inspect.log "cert proof of the inspection failed" ecert cert proof \
    --type "$CERT_TYPE" --tx "$inspect_tx" --out "$T/inspect.proof" --wait-ms 60000
verify_cert "$T/inspect.proof" --status-list "$T/valid.status" || fail "the inspection's proof"
grep -q "^certificate  *$CERT_TX" "$T/v.log" || fail "the inspection bundle names no certificate"
grep -q "^verdict  *authentic" "$T/v.log" || fail "the inspection bundle shows no verdict"
grep -q "proves an event (INSPECT), not the certificate" "$T/v.log" ||
    fail "an inspection's bundle was taken for the certificate"

say "suspension: refused to the holder; then the agency suspends"
if ecert cert suspend --key "$CITIZEN_KEY" --type "$CERT_TYPE" --cert "$CERT_TX" \
    >"$T/refused.log" 2>&1; then fail "the holder suspended a certificate"; fi
grep -q EPERM "$T/refused.log" || fail "holder's suspension not refused with EPERM"
if ecert cert reinstate --key "$AGENCY_KEY" --type "$CERT_TYPE" --cert "$CERT_TX" \
    >"$T/refused.log" 2>&1; then fail "a certificate not suspended was reinstated"; fi
grep -q ESTATE "$T/refused.log" || fail "reinstating a valid certificate not refused with ESTATE"
run_logged suspend.log "cert suspend failed" ecert cert suspend --key "$AGENCY_KEY" \
    --type "$CERT_TYPE" --cert "$CERT_TX" --reason "under review"
ecert cert get --type "$CERT_TYPE" --tx "$CERT_TX" | grep -q "^status  *suspended" ||
    fail "cert get does not show the suspension"
fetch_list "$T/suspended.status"
expect_not_valid suspended "$BUNDLE" --status-list "$T/suspended.status"
expect_not_valid suspended "$BUNDLE" --online --wait-ms 60000
grep -q "fetched now" "$T/v.log" || fail "verify --online does not say the list is fresh"
# The list fetched before the suspension still says valid: offline, its age is shown.
verify_cert "$BUNDLE" --status-list "$T/valid.status" || fail "the older list stopped verifying"
grep -q "old)" "$T/v.log" || fail "verify does not show the status list's age"

say "reinstatement"
run_logged reinstate.log "cert reinstate failed" ecert cert reinstate --key "$AGENCY_KEY" \
    --type "$CERT_TYPE" --cert "$CERT_TX"
verify_cert "$BUNDLE" --online --wait-ms 60000 || {
    cat "$T/v.log" >&2
    fail "the reinstated certificate does not verify"
}
ecert cert get --type "$CERT_TYPE" --tx "$CERT_TX" | grep -q "^status  *acknowledged" ||
    fail "reinstated: not back to acknowledged"

issue() { # [more cert issue options] -> prints the new certificate's id
    ecert --json cert issue --key "$AGENCY_KEY" --type "$CERT_TYPE" --holder "$CITIZEN" \
        --org "$UNIV_ORG" --field "name=Second $RANDOM" "$@" >"$T/issue.json" 2>&1 ||
        {
            cat "$T/issue.json" >&2
            fail "cert issue failed"
        }
    json_field tx "$(cat "$T/issue.json")"
}

say "cancellation by the holder"
second=$(issue)
[ ${#second} -eq 64 ] || fail "no id from cert issue: $second"
run_logged proof2.log "cert proof failed" ecert cert proof --type "$CERT_TYPE" --tx "$second" \
    --out "$T/second.proof" --wait-ms 60000
run_logged cancel.log "cert cancel by the holder failed" ecert cert cancel \
    --key "$CITIZEN_KEY" --type "$CERT_TYPE" --cert "$second"
fetch_list "$T/cancelled.status"
expect_not_valid "ended" "$T/second.proof" --status-list "$T/cancelled.status"
# the first certificate is untouched by it
verify_cert "$BUNDLE" --status-list "$T/cancelled.status" || fail "cancelling one ended another"

say "revocation, and what it forbids"
run_logged revoke.log "cert revoke failed" ecert cert revoke --key "$AGENCY_KEY" \
    --type "$CERT_TYPE" --cert "$CERT_TX" --reason "issued in error"
if ecert cert cancel --key "$CITIZEN_KEY" --type "$CERT_TYPE" --cert "$CERT_TX" \
    >"$T/refused.log" 2>&1; then fail "a revoked certificate was cancelled"; fi
grep -q ESTATE "$T/refused.log" || fail "cancelling a revoked certificate not refused with ESTATE"
expect_not_valid revoked "$BUNDLE" --online --wait-ms 60000
history
for action in SUSPEND REINSTATE REVOKE; do
    grep -q " $action " "$T/history.log" || fail "history lacks $action"
done

say "the supervisor's audit: every transaction, each proven"
run_logged audit_cert.log "audit cert failed" ecert audit cert --type "$CERT_TYPE" \
    --cert "$CERT_TX" --wait-ms 60000
for action in ISSUE ACK INSPECT SUSPEND REINSTATE REVOKE; do
    grep -q " $action  " "$T/audit_cert.log" || fail "audit lacks $action"
done
grep -q "entries, each proven against the main genesis" "$T/audit_cert.log" ||
    fail "audit cert does not say its entries were proven"
grep -q "REVOKE  *$AGENCY " "$T/audit_cert.log" || fail "audit does not name the agency as the revoker"
run_logged audit_id.log "audit identity failed" ecert audit identity --address "$CITIZEN" \
    --wait-ms 60000
grep -q "identity attested" "$T/audit_id.log" || fail "audit identity lacks the attestation"
grep -q "certificate $CERT_TX .*revoked" "$T/audit_id.log" ||
    fail "audit identity lacks the revoked certificate"
grep -q "certificate $second .*cancelled" "$T/audit_id.log" ||
    fail "audit identity lacks the cancelled certificate"
grep -c "CANCEL" "$T/audit_id.log" | grep -q 1 || fail "audit identity lacks the cancellation"

say "metering: the inspection agency's inspections, for billing"
run_logged usage.log "usage failed" ecert usage --org "$INSP_ORG" --from 2020-01-01 \
    --to 2100-01-01T00:00:00Z
grep -q "^$CERT_TYPE (.*): 1 inspection(s); verdicts: authentic" "$T/usage.log" ||
    fail "usage does not count the one inspection"
grep -q "$inspect_tx" "$T/usage.log" || fail "usage does not list the inspection's tx"
grep -q "public: free of charge" "$T/usage.log" || fail "usage does not say the org is free"
grep -q "^total: 1 inspection(s), 0 billable" "$T/usage.log" || fail "usage total is wrong"
ecert usage --org "$INSP_ORG" --from 2020-01-01 --to 2100-01-01 --type "$CERT_TYPE" --csv \
    >"$T/usage.csv" || fail "usage --csv failed"
[ "$(wc -l <"$T/usage.csv")" -eq 2 ] || fail "usage --csv: not a header and one row"
grep -q "^$INSP_ORG,public,$CERT_TYPE,.*,$inspect_tx,$CERT_TX,\"authentic" "$T/usage.csv" ||
    fail "usage --csv row is wrong: $(cat "$T/usage.csv")"
ecert usage --org "$INSP_ORG" --from 2100-01-01 --to 2100-02-01 >"$T/usage0.log" ||
    fail "usage over an empty period failed"
grep -q "^total: 0 inspection(s)" "$T/usage0.log" || fail "a period with none counts some"
if ecert usage --org "$INSP_ORG" --from 2026-12-01 --to 2026-11-01 >/dev/null 2>&1; then
    fail "usage accepted --from after --to"
fi

say "expiry, checked against the clock"
old=$(issue --expires-ms 1000)
run_logged proof3.log "cert proof failed" ecert cert proof --type "$CERT_TYPE" --tx "$old" \
    --out "$T/old.proof" --wait-ms 60000
# a list fetched before the certificate was issued cannot speak for it
verify_cert "$T/old.proof" --status-list "$T/cancelled.status" && fail "a stale list was used"
grep -q "older than this certificate" "$T/v.log" || fail "a list older than the certificate"
expect_not_valid "expired" "$T/old.proof" --online --wait-ms 60000

say "status lists that must not be believed"
cp "$T/valid.status" "$T/tampered.status"
size=$(wc -c <"$T/tampered.status")
# one byte in the middle of the list (after the chain id and count)
pos=$((size / 3))
orig=$(od -An -tu1 -j "$pos" -N1 "$T/tampered.status" | tr -d ' ')
printf '%b' "\\x$(printf %02x $(((orig + 1) % 256)))" |
    dd of="$T/tampered.status" bs=1 seek="$pos" count=1 conv=notrunc status=none
if verify_cert "$BUNDLE" --status-list "$T/tampered.status"; then
    fail "a tampered status list was believed"
fi
grep -q "does NOT verify" "$T/v.log" || fail "a tampered list is not refused as such"
if verify_cert "$BUNDLE" --status-list "$BUNDLE"; then fail "a bundle was taken for a list"; fi
pass
