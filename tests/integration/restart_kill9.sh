#!/usr/bin/env bash
# restart_kill9: nothing acknowledged is lost on kill -9. Certificates are issued in a loop
# while the degree side chain and then the main chain are killed with SIGKILL mid-stream;
# after `scripts/devnet up` restarts them, every transaction the client saw committed is
# still in the ledger at the same height, heights continue from where they were, and new
# issuance (and its anchoring) works.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up + demo (roles, attestation)"
devnet_up_with_demo
load_passphrase
side=$(side_rpc degree)
main=$(main_rpc)
acked=$T/acked.txt # "chain tx height" per acknowledged transaction
echo "degree $CERT_TX $CERT_HEIGHT" >"$acked"

issue_one() { # n -> appends to $acked when committed
    local out
    out=$(ecert --json --timeout-ms 5000 cert issue --key "$AGENCY_KEY" --type degree \
        --holder "$CITIZEN" --org "$UNIV_ORG" --field "serial=$1" --field "name=kill9 $1" \
        2>/dev/null) || return 1
    echo "degree $(json_field tx "$out") $(json_field height "$out")" >>"$acked"
}

say "issuing from three clients at once, then kill -9 of the degree chain"
loops=()
for c in a b c; do
    (
        i=0
        while [ ! -f "$T/stop" ]; do
            i=$((i + 1))
            if ! issue_one "$c$i"; then
                echo "$c$i" >>"$T/unacked.txt" # refused or no answer (the chain was down)
                sleep 0.1
            fi
        done
    ) &
    loops+=($!)
done
acked_at_least() { [ "$(wc -l <"$acked")" -ge "$1" ]; }
wait_for 30 acked_at_least 20 || fail "fewer than 20 certificates issued in 30s"
side_h=$(height "$side")
main_h=$(height "$main")
side_pid=$(pid_of side-degree)
kill -KILL "$side_pid"
wait_for 10 dead "$side_pid" || fail "side-degree (pid $side_pid) survived kill -9"
sleep 0.5
say "kill -9 of the main chain"
ecert --json account new --name "kill9-$$" --out "$T/kill9.key" >"$T/account.json" ||
    fail "account registration failed"
main_pid=$(pid_of main)
kill -KILL "$main_pid"
wait_for 10 dead "$main_pid" || fail "main (pid $main_pid) survived kill -9"
touch "$T/stop"
wait "${loops[@]}" || true
n=$(wc -l <"$acked")
acked_h=$(awk '$3 > h { h = $3 } END { print h + 0 }' "$acked")
say "$n issuances acknowledged, the last at height $acked_h; main height was $main_h, side $side_h"
# The kill came mid-stream: the clients were still issuing when the chain died, and
# their requests went unanswered.
[ -s "$T/unacked.txt" ] || fail "no issuance was in flight when the degree chain was killed"

say "devnet up restarts the killed daemons"
run_logged up2.log "devnet up after kill -9 failed" devnet up
grep -q "started side-degree" "$T/up2.log" || fail "up did not restart side-degree"
grep -q "started main" "$T/up2.log" || fail "up did not restart main"
if grep -q "started side-marriage" "$T/up2.log"; then fail "up restarted a running daemon"; fi
no_passphrase_in_daemon_env # this shell exported it (load_passphrase); the daemons must not

say "every acknowledged transaction is still there"
while read -r _ tx h; do
    if [ -z "$tx" ] || [ -z "$h" ]; then fail "bad line in the acknowledged list: '$tx $h'"; fi
    got=$(probe tx "$side" "$tx") || fail "acknowledged tx $tx is missing after kill -9"
    [ "$got" = "height=$h index=${got##*index=}" ] ||
        fail "tx $tx moved: acknowledged at height $h, now $got"
done <"$acked"
addr=$(ecert account address --key "$T/kill9.key" | grep -oE 'ec1[02-9ac-hj-np-z]{6,}' | head -n 1)
ecert account pubkey "$addr" >/dev/null || fail "the account registered before kill -9 is gone"
last=$(tail -n 1 "$acked")
ecert cert get --type degree --holder "$CITIZEN" --height "${last##* }" \
    --tx "$(cut -d' ' -f2 <<<"$last")" --key "$CITIZEN_KEY" | grep -q 'kill9' ||
    fail "the last acknowledged certificate does not decrypt"

say "heights continue"
[ "$(height "$side")" -ge "$side_h" ] || fail "side chain height went backwards"
[ "$(height "$side")" -ge "$acked_h" ] ||
    fail "side chain restarted below height $acked_h, where a certificate was acknowledged"
[ "$(height "$main")" -ge "$main_h" ] || fail "main chain height went backwards"

say "new issuance and anchoring work"
before=$(height "$side")
issue_one after || fail "issuance after the restart failed"
last=$(tail -n 1 "$acked")
[ "${last##* }" -gt "$before" ] || fail "new certificate at height ${last##* } <= $before"
ecert cert proof --type degree --tx "$(cut -d' ' -f2 <<<"$last")" --out "$T/after.bundle" \
    --wait-ms 60000 >/dev/null || fail "no proof for a certificate issued after the restart"
ecert verify --bundle "$T/after.bundle" --main-genesis "$ECERT_DEVNET_DIR/main/genesis.yaml" \
    >/dev/null || fail "the proof of the new certificate does not verify"
pass
