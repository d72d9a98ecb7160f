#!/usr/bin/env bash
# anchoring: a certificate becomes verifiable against the main chain; the main chain's
# `sidechains` query shows the side chain anchored and not frozen; with anchord stopped
# nothing is anchored, and once it is back a single anchor covers the whole gap.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up + demo"
devnet_up_with_demo
load_passphrase
main=$(main_rpc)
genesis=$ECERT_DEVNET_DIR/main/genesis.yaml
chain=ecert-degree-dev

anchored() { # the main chain's anchored height of the degree chain
    probe sidechains "$main" | sed -n "s/^degree $chain anchored_height=\([0-9]*\) .*/\1/p"
}

say "the main chain lists the side chains as anchored"
probe sidechains "$main" >"$T/sidechains.txt" || fail "sidechains query failed"
cat "$T/sidechains.txt"
grep -q "^degree $chain anchored_height=[1-9][0-9]* frozen=false$" "$T/sidechains.txt" ||
    fail "degree is not anchored (or is frozen)"
grep -q "^marriage ecert-marriage-dev .* frozen=false$" "$T/sidechains.txt" ||
    fail "marriage is not registered"
[ "$(anchored)" -ge "$CERT_HEIGHT" ] || fail "anchored height is below the demo certificate"
probe anchor-of "$main" "$chain" "$CERT_HEIGHT" >/dev/null ||
    fail "anchor_of finds no anchor for the demo certificate"

say "stop anchord; issue three certificates"
anchord_pid=$(pid_of anchord)
kill -TERM "$anchord_pid"
wait_for 10 dead "$anchord_pid" || fail "anchord did not stop on SIGTERM"
sleep 1.5 # let an anchor that was in flight land
a0=$(anchored)
hs=()
txs=()
for i in 1 2 3; do
    out=$(ecert --json cert issue --key "$AGENCY_KEY" --type degree --holder "$CITIZEN" \
        --org "$UNIV_ORG" --field "serial=gap-$i") || fail "issue $i failed"
    txs+=("$(json_field tx "$out")")
    hs+=("$(json_field height "$out")")
    sleep 0.3
done
say "issued at heights ${hs[*]}; anchored height stays $a0"
[ "$a0" -lt "${hs[0]}" ] || fail "anchored height $a0 already covers ${hs[0]}"
sleep 2
[ "$(anchored)" = "$a0" ] || fail "anchored height moved without a relay"
if ecert cert proof --type degree --tx "${txs[0]}" --out "$T/early.bundle" --wait-ms 500 \
    >/dev/null 2>&1; then
    fail "a proof was produced for an unanchored certificate"
fi

say "start anchord again; one anchor must cover the gap"
run_logged up2.log "devnet up (anchord) failed" devnet up
grep -q "started anchord" "$T/up2.log" || fail "up did not restart anchord"
anchored_at_least() { [ "$(anchored)" -ge "$1" ]; }
wait_for 30 anchored_at_least "${hs[2]}" ||
    fail "not anchored up to ${hs[2]} within 30s (anchored: $(anchored))"
first=$(probe anchor-of "$main" "$chain" "${hs[0]}") || fail "anchor_of ${hs[0]} failed"
last=$(probe anchor-of "$main" "$chain" "${hs[2]}") || fail "anchor_of ${hs[2]} failed"
say "anchor for ${hs[0]}: $first; for ${hs[2]}: $last"
[ "$first" = "$last" ] || fail "the gap took more than one anchor"
covered=$(sed -n 's/^anchored_side_height=\([0-9]*\) .*/\1/p' <<<"$first")
[ "$covered" -ge "${hs[2]}" ] || fail "the anchor covers $covered < ${hs[2]}"

say "proofs of the gap certificates verify"
for tx in "${txs[@]}"; do
    ecert cert proof --type degree --tx "$tx" --out "$T/$tx.bundle" --wait-ms 30000 \
        >/dev/null || fail "no proof for $tx"
    ecert verify --bundle "$T/$tx.bundle" --main-genesis "$genesis" >/dev/null ||
        fail "proof of $tx does not verify"
done
grep -q "^degree $chain anchored_height=[0-9]* frozen=false$" <(probe sidechains "$main") ||
    fail "degree chain frozen after the gap"
pass
