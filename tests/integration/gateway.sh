#!/usr/bin/env bash
# gateway: ecert-gateway (docs/GATEWAY.md) against real daemons.
# - `devnet up` starts the gateway and /healthz answers; the demo's certificate is read back
#   through the API (cert, holder's certificates, transaction, account, bundle), and the
#   bundle it serves verifies offline with `ecert verify`; every read endpoint answers.
# - A transaction is prepared through /tx/prepare, signed outside the gateway (Node's
#   Ed25519, tests/js/ed25519.mjs) and submitted through /tx; a header event arrives on
#   /api/v1/events after it; the certificate's status stream sends its status at once.
# - Error mappings: 404 ENOTFOUND, 400 EINVAL (bad hex, bad typed JSON, malformed JSON),
#   413 oversize body, 409 EREPLAY on resubmission, 422 ESIG, 403 EPERM, 429 with
#   Retry-After under a low --rate, 504 ETIMEOUT with a chain down; a portal path that
#   climbs out is refused.
# - A slow client (half a request, then nothing) does not block others and is closed after
#   the idle timeout.
# - tests/js/openapi_check.mjs validates /openapi.json and calls every path it lists.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up (with the gateway) + demo"
devnet_up_with_demo
load_passphrase
G=http://127.0.0.1:$((ECERT_PORT_BASE + 600))
A=$G/api/v1
grep -q "portal: http://127.0.0.1:$((ECERT_PORT_BASE + 600))/" "$T/up.log" ||
    fail "devnet up does not print the portal's URL"
js=$ECERT_SOURCE/tests/js

# get PATH [STATUS]: GETs $A/PATH into $T/body.json and checks the status (default 200).
get() {
    local want=${2:-200} got
    got=$(curl -s -o "$T/body.json" -w '%{http_code}' "$A/$1")
    [ "$got" = "$want" ] || {
        cat "$T/body.json" >&2
        fail "GET $1 answered $got, want $want"
    }
}
# post PATH BODY [STATUS]
post() {
    local want=${3:-200} got
    got=$(curl -s -o "$T/body.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary "$2" "$A/$1")
    [ "$got" = "$want" ] || {
        cat "$T/body.json" >&2
        fail "POST $1 answered $got, want $want"
    }
}
field() { jq -r "$1" "$T/body.json"; }
# err NAME: the last answer is the error NAME
err() { [ "$(field .error.name)" = "$1" ] || fail "want error $1, got $(cat "$T/body.json")"; }

say "health, chains, headers, blocks, genesis, validators, anchors, queries"
curl -sf "$G/healthz" | jq -e '.ok == true and .chains == 3' >/dev/null || fail "healthz"
get chains
[ "$(field '.chains | length')" = 3 ] || fail "chains: want 3"
[ "$(field '.chains[0].name')" = main ] || fail "chains: main first"
get "chains/$CERT_TYPE"
[ "$(field .kind)" = side ] || fail "a side chain's kind"
get chains/main/headers/0
tip=$(field .height)
[ "$(field .commit_signatures)" -ge 1 ] || fail "header: no commit signatures"
get "chains/main/headers?count=3"
[ "$(field '.headers | length')" = 3 ] || fail "headers: want 3"
[ "$(field '.headers[0].height')" -ge "$tip" ] || fail "headers: not from the tip down"
get chains/main/blocks/1
[ "$(field '.txs | length')" -ge 1 ] || fail "block 1 has no transactions"
get chains/main/genesis
[ "$(field .kind)" = main ] || fail "genesis kind"
get "chains/main/validators?height=1"
[ "$(field '.validators | length')" = 1 ] || fail "validators"
get anchors
[ "$(field '.sides | length')" = 2 ] || fail "anchors: want 2 side chains"
get chains/main/query/sidechains
[ "$(field '.result | length')" = 2 ] || fail "query sidechains"
get "chains/main/query/org?args=%5B%22$UNIV_ORG%22%5D"
[ "$(field '.result[0]')" = "$UNIV_ORG" ] || fail "query org with typed-JSON args"
post "chains/main/query/org" "{\"args\":[\"$UNIV_ORG\"]}"
[ "$(field '.result[0]')" = "$UNIV_ORG" ] || fail "POST query org"
get "chains/$CERT_TYPE/usage?org=$INSP_ORG"
[ "$(field .count)" -ge 1 ] || fail "usage: the demo's inspection is not counted"

say "the demo's certificate through the API"
get "chains/$CERT_TYPE/certs/$CERT_TX"
[ "$(field .holder)" = "$CITIZEN" ] || fail "cert: holder"
[ "$(field '.history[0].type_name')" = ISSUE ] || fail "cert: history does not start with ISSUE"
[ "$(field '.inspections | length')" -ge 1 ] || fail "cert: inspections"
get "chains/$CERT_TYPE/holders/$CITIZEN/certs"
jq -e --arg id "$CERT_TX" '.certs | map(.cert_id) | index($id) != null' "$T/body.json" \
    >/dev/null || fail "holder certs: the demo's certificate is missing"
get "chains/$CERT_TYPE/txs/$CERT_TX"
[ "$(field .type_name)" = ISSUE ] || fail "tx: type"
[ "$(field .body[0])" = "$CITIZEN" ] || fail "tx: typed-JSON body"
get "accounts/$CITIZEN"
[ "$(field .address)" = "$CITIZEN" ] || fail "account"
get "chains/$CERT_TYPE/txs/$CERT_TX/bundle"
field .bundle | base64 -d >"$T/api.proof"
run_logged verify.log "the gateway's bundle does not verify" ecert verify --bundle "$T/api.proof"
code=$(curl -s -o "$T/body.json" -w '%{http_code}' "$A/chains/$CERT_TYPE/status-list")
case "$code" in
200) field .object | base64 -d >"$T/api.status" &&
    run_logged verify_sl.log "the gateway's status list does not verify" ecert verify \
        --bundle "$T/api.proof" --status-list "$T/api.status" ;;
409) err ESTATE ;; # its newest block is not anchored yet
*) fail "status-list answered $code" ;;
esac

say "errors: 404, 400 (bad hex, typed JSON, malformed JSON), 413"
get chains/nochain 404 && err ENOTFOUND
get chains/main/headers/99999 404 && err ENOTFOUND
get "chains/$CERT_TYPE/certs/$(printf '%064d' 0)" 404 && err ENOTFOUND
get chains/main/txs/nothex 400 && err EINVAL
get nowhere 404
get "chains/main/query/org?args=%5B%7B%22x%22%3A1%7D%5D" 400 && err EINVAL
post chains/main/query/org '{"args": [' 400 && err EINVAL
grep -q "malformed JSON" "$T/body.json" || fail "malformed JSON not said"
head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' ' ' >"$T/big.json"
code=$(curl -s -o "$T/body.json" -w '%{http_code}' -X POST --data-binary @"$T/big.json" \
    "$A/chains/main/tx")
[ "$code" = 413 ] && err ETOOBIG || fail "an oversize body answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$G/../../etc/passwd")
[ "$code" = 400 ] || [ "$code" = 404 ] || fail "a path out of the portal answered $code"
curl -sf -o /dev/null "$G/" || fail "the portal's index"

say "prepare, sign outside, submit; EREPLAY, ESIG, EPERM; events"
pk=$(node "$js/ed25519.mjs" new "$T/signer.pem")
curl -sN --max-time 20 "$A/events?topics=header,anchor" >"$T/events.txt" 2>/dev/null &
events_pid=$!
# prepare_sign TYPE BODY: prepares and signs; sets $signed, $sig, $txid
prepare_sign() {
    post chains/main/tx/prepare "{\"type\": $1, \"sender\": \"$pk\", \"body\": $2}"
    signed=$(field .signed)
    txid=$(field .tx_id)
    sig=$(node "$js/ed25519.mjs" sign "$T/signer.pem" "$(field .sign_bytes)")
}
prepare_sign 1 "[\"gateway-test-$$\"]"
post chains/main/tx "{\"signed\": \"$signed\", \"sig\": \"$sig\", \"payload\": null}"
[ "$(field .tx_id)" = "$txid" ] || fail "submit: another tx id"
get "chains/main/txs/$txid"
[ "$(field .type_name)" = REGISTER ] || fail "the submitted transaction is not found"
post chains/main/tx "{\"signed\": \"$signed\", \"sig\": \"$sig\"}" 409 && err EREPLAY
prepare_sign 1 "[\"gateway-other-$$\"]"
if [ "${sig: -1}" = 0 ]; then bad=${sig%?}1; else bad=${sig%?}0; fi # one bit off
post chains/main/tx "{\"signed\": \"$signed\", \"sig\": \"$bad\"}" 422 && err ESIG
post chains/main/tx "{\"signed\": \"$signed\", \"sig\": \"zz\"}" 400 && err EINVAL
post chains/main/tx/prepare "{\"type\": 1, \"sender\": \"$pk\", \"body\": [1]}" 400 && err EINVAL
prepare_sign 2 '["GWORG", "Gateway test org", 0]' # ORG: operators only
post chains/main/tx "{\"signed\": \"$signed\", \"sig\": \"$sig\"}" 403 && err EPERM
wait_for 15 grep -q '^event: header' "$T/events.txt" || fail "no header event after a submission"
grep -q '"chain":"main"' "$T/events.txt" || fail "no main-chain header event"
curl -sN --max-time 2 "$A/chains/$CERT_TYPE/certs/$CERT_TX/events" >"$T/cert_events.txt" || true
grep -q '^event: status' "$T/cert_events.txt" || fail "the certificate stream sent no status"
grep -q '"status":"acknowledged"' "$T/cert_events.txt" || fail "the certificate's status"

say "the OpenAPI document: valid, every path answers as documented"
run_logged openapi.log "openapi_check failed" node "$js/openapi_check.mjs" "$G" \
    "chain=$CERT_TYPE" "id=$CERT_TX" "address=$CITIZEN" "org=$INSP_ORG"

say "a second gateway: rate limit, slow client, a chain down"
p2=$((ECERT_PORT_BASE + 620))
"$ECERT_BUILD/gateway/ecert-gateway" --client-config "$ECERT_CONFIG" --listen "127.0.0.1:$p2" \
    --rate 2 --burst 4 --idle-timeout-s 2 --timeout-ms 800 --portal '' \
    >"$T/gw2.log" 2>&1 8>&- 9>&- &
gw2=$!
echo "$gw2" >"$ECERT_DEVNET_DIR/run/gw2.pid" # stopped by the trap with the others
G2=http://127.0.0.1:$p2
wait_for 10 curl -sf "$G2/healthz" || fail "the second gateway does not answer"
limited=0
for i in 1 2 3 4 5 6 7 8; do
    curl -s -D "$T/h.txt" -o "$T/b.json" "$G2/api/v1/chains/main/headers/0"
    if grep -q '^HTTP/1.1 429' "$T/h.txt"; then
        limited=1
        break
    fi
done
[ "$limited" = 1 ] || fail "no 429 past the burst"
grep -qi '^Retry-After: [1-9]' "$T/h.txt" || fail "a 429 without Retry-After"
grep -q EBUSY "$T/b.json" || fail "a 429 that is not EBUSY"
sleep 1.5 # three tokens back (2 a second)
exec 3<>"/dev/tcp/127.0.0.1/$p2"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&3 # half a request, then nothing
curl -sf --max-time 2 "$G2/healthz" >/dev/null || fail "a slow client blocked another"
if ! timeout 10 cat <&3 >/dev/null; then fail "the slow client was not closed"; fi
exec 3<&-
devnet kill side-marriage >/dev/null
code=$(curl -s -o "$T/body.json" -w '%{http_code}' "$G2/api/v1/chains/marriage")
[ "$code" = 504 ] && err ETIMEOUT || fail "a chain down answered $code, want 504"
kill "$events_pid" "$gw2" 2>/dev/null || true
pass
