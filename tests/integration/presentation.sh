#!/usr/bin/env bash
# presentation: the counter scene. An inspection agency (the verifier) shows a signed
# request as a QR code; the citizen's client checks on the main chain who asks, then
# answers as a QR code with two of the certificate's four fields, its proof and a status
# list; the verifier checks it offline and sees those two fields and nothing else. Then
# each refusal, with its own reason: a replayed answer, an answer to another request of
# the same verifier (foreign nonce) or to another verifier's, an expired request (holder
# side and verifier side), an altered answer, one signed by someone who is not the holder,
# a request from someone who is no inspection agency (holder side), a field not disclosed,
# and a revoked certificate. A presentation the verifier reports (--report) is recorded as
# its organization's inspection and counted by `ecert usage`.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up + demo"
devnet_up_with_demo
load_passphrase
genesis=$ECERT_DEVNET_DIR/main/genesis.yaml

request() { # out-file [more options]: a request by the inspection agency
    local out=$1
    shift
    run_logged request.log "verifier request failed" ecert verifier request \
        --key "$INSPECTOR_KEY" --type "$CERT_TYPE" --out "$out" "$@"
}
present() { # request-file out-file [more options]
    local req=$1 out=$2
    shift 2
    ecert present --key "$CITIZEN_KEY" --type "$CERT_TYPE" --cert "$CERT_TX" \
        --request "$req" --out "$out" --wait-ms 60000 "$@" >"$T/present.log" 2>&1
}
check() { # presentation request [more options]: verify-presentation, output in $T/check.log
    local pres=$1 req=$2
    shift 2
    ecert verify-presentation --in "$pres" --request "$req" --main-genesis "$genesis" "$@" \
        >"$T/check.log" 2>&1
}
expect_refused() { # what-grep presentation request [options]
    local what=$1 rc=0
    shift
    check "$@" || rc=$?
    [ "$rc" -eq 1 ] || {
        cat "$T/check.log" >&2
        fail "a presentation that should be refused ($what) exited $rc"
    }
    grep -q "REFUSED: .*$what" "$T/check.log" || {
        cat "$T/check.log" >&2
        fail "the refusal does not say: $what"
    }
}

say "the verifier's request, as a QR code; the holder sees who asks"
request "$T/req1" --fields name,degree --qr "$T/req1.png"
grep -q "fields name,degree" "$T/request.log" || fail "the request does not say what it asks"
run_logged fetch.log "status-list fetch failed" ecert status-list fetch --type "$CERT_TYPE" \
    --out "$T/now.status" --wait-ms 60000
ecert present --key "$CITIZEN_KEY" --type "$CERT_TYPE" --cert "$CERT_TX" \
    --request-qr "$T/req1.png" --qr "$T/ans1.png" --out "$T/ans1" \
    --status-list "$T/now.status" --wait-ms 60000 >"$T/present.log" 2>&1 || {
    cat "$T/present.log" >&2
    fail "present failed"
}
grep -q "inspection agency $INSP_ORG for $CERT_TYPE" "$T/present.log" ||
    fail "present does not show who asks"
grep -q "asks for: name, degree" "$T/present.log" || fail "present does not show what is asked"

say "the verifier checks the answer offline, from its QR code"
ecert verify-presentation --qr "$T/ans1.png" --request "$T/req1" --main-genesis "$genesis" \
    >"$T/check.log" 2>&1 || {
    cat "$T/check.log" >&2
    fail "a good presentation is refused"
}
grep -q "^  name: " "$T/check.log" || fail "the name is not shown"
grep -q "^  degree: Bachelor" "$T/check.log" || fail "the degree is not shown"
if grep -q "major\|graduated" "$T/check.log"; then fail "an undisclosed field was shown"; fi
grep -q "status  *valid .*brought by the holder" "$T/check.log" ||
    fail "the holder's status list was not used"
grep -q "holder  *$CITIZEN" "$T/check.log" || fail "the holder is not named"
[ -e "$T/req1.answered" ] || fail "the request was not marked answered"

say "a verified presentation the verifier reports counts for its organization"
request "$T/req_r" --fields name
present "$T/req_r" "$T/ans_r" || fail "present failed"
check "$T/ans_r" "$T/req_r" --report --key "$INSPECTOR_KEY" || {
    cat "$T/check.log" >&2
    fail "verify-presentation --report failed"
}
grep -q "reported as an inspection by $INSP_ORG" "$T/check.log" || {
    cat "$T/check.log" >&2
    fail "the report is not confirmed"
}
run_logged usage.log "usage failed" ecert usage --org "$INSP_ORG" --from 2020-01-01 \
    --to 2100-01-01
grep -q "presentation verified" "$T/usage.log" || {
    cat "$T/usage.log" >&2
    fail "usage does not count the reported presentation"
}

say "refusals"
expect_refused "replayed" "$T/ans1" "$T/req1"
request "$T/req2" --fields name,degree
expect_refused "foreign nonce" "$T/ans1" "$T/req2"
run_logged request_ca.log "a request by another key failed" ecert verifier request \
    --key "$CA_KEY" --type "$CERT_TYPE" --fields name --out "$T/req_ca"
expect_refused "another verifier" "$T/ans1" "$T/req_ca"
# the holder's client does not answer someone who is no inspection agency
if present "$T/req_ca" "$T/ans_ca"; then fail "the holder answered an unauthorized verifier"; fi
grep -q "unauthorized verifier" "$T/present.log" || fail "no 'unauthorized verifier' reason"
# altered: one byte of the disclosed degree changed
request "$T/req3" --fields name,degree
present "$T/req3" "$T/ans3" || fail "present failed"
sed 's/Bachelor/Bachelar/' "$T/ans3" >"$T/ans3.altered"
cmp -s "$T/ans3" "$T/ans3.altered" && fail "the alteration did not change the presentation"
expect_refused "altered" "$T/ans3.altered" "$T/req3"
# signed by someone who is not the certificate's holder
probe forge-holder "$T/ans3" "$T/ans3.forged" || fail "ec_probe forge-holder failed"
expect_refused "wrong holder" "$T/ans3.forged" "$T/req3"
# a field asked for and not disclosed
request "$T/req4" --fields name,degree
present "$T/req4" "$T/ans4" --fields name || fail "present --fields name failed"
expect_refused "did not disclose the field 'degree'" "$T/ans4" "$T/req4"
# expired: the holder refuses to answer; the verifier refuses a late answer
request "$T/req5" --fields name --valid-s 1
sleep 2
if present "$T/req5" "$T/ans5"; then fail "the holder answered an expired request"; fi
grep -q "expired" "$T/present.log" || fail "no 'expired' reason on the holder's side"
request "$T/req6" --fields name --valid-s 3
present "$T/req6" "$T/ans6" || fail "present failed"
sleep 4
expect_refused "expired" "$T/ans6" "$T/req6"

say "a revoked certificate never verifies as valid, presented or not"
request "$T/req7" --fields name
present "$T/req7" "$T/ans7" || fail "present failed"
run_logged revoke.log "cert revoke failed" ecert cert revoke --key "$AGENCY_KEY" \
    --type "$CERT_TYPE" --cert "$CERT_TX" --reason "issued in error"
rc=0
check "$T/ans7" "$T/req7" --online --wait-ms 60000 || rc=$?
[ "$rc" -eq 1 ] || fail "a revoked certificate's presentation exited $rc"
grep -q "NOT valid: it is revoked" "$T/check.log" || fail "no 'revoked' verdict"
pass
