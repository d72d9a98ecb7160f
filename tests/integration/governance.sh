#!/usr/bin/env bash
# governance: validators change through main-chain governance, one at a time, and
# everything follows. On a network of 4 validators per chain: an operator removes one
# validator of the degree side chain (SIDECHAIN_VALIDATOR, a record the side chain applies
# when the relay brings it), which is then stopped while the chain goes on with three and
# the main chain keeps anchoring it; the operator re-weighs a main-chain validator
# (VALIDATOR_UPDATE), and a proof bundle made afterwards carries that change and verifies
# offline from the main genesis alone; finally the removed validator is added back and
# takes part again.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
four_validator_devnet_with_demo
keys=$ECERT_DEVNET_DIR/keys
op=$keys/operator.key

side_rpc_of() { echo "tcp://127.0.0.1:$((ECERT_PORT_BASE + 100 + 1000 * ($1 - 1)))"; }
main_rpc_of() { echo "tcp://127.0.0.1:$((ECERT_PORT_BASE + 1000 * ($1 - 1)))"; }
field_of() { json_field "$2" "$(ecert --json --timeout-ms 1000 node status --rpc "$1" 2>/dev/null)"; }
set_size_is() { [ "$(field_of "$1" validators)" = "$2" ]; }
issue() { # serial -> "tx height"
    local out
    out=$(ecert --json --timeout-ms 15000 cert issue --key "$AGENCY_KEY" --type degree \
        --holder "$CITIZEN" --org "$UNIV_ORG" --field "serial=$1") || return 1
    echo "$(json_field tx "$out") $(json_field height "$out")"
}
# Issues certificates until `cond args` holds (each block moves the change along).
issue_until() { # limit-seconds cond args...
    local limit=$1 deadline n=0
    shift
    deadline=$((SECONDS + limit))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        n=$((n + 1))
        issue "until-$n" >/dev/null || sleep 0.5
    done
}

say "remove side-degree-4 from the degree chain's set"
run_logged remove.log "SIDECHAIN_VALIDATOR (power 0) refused" \
    ecert --key "$op" validator set --type degree --validator-key "$keys/degree-validator-4.key" \
    --power 0
issue_until 60 set_size_is "$(side_rpc_of 1)" 3 ||
    fail "the degree chain still has $(field_of "$(side_rpc_of 1)" validators) validators"
for v in 2 3; do
    wait_for 10 set_size_is "$(side_rpc_of "$v")" 3 || fail "side-degree-$v did not follow the change"
done
devnet kill side-degree-4 >/dev/null

say "the chain goes on with three, and the main chain keeps anchoring it"
read -r tx1 _ < <(issue after-removal) || fail "issuance with three validators failed"
ecert cert proof --type degree --tx "$tx1" --out "$T/after-removal.bundle" --wait-ms 60000 \
    >/dev/null || fail "no anchored proof after the removal (the main chain did not follow)"
ecert verify --bundle "$T/after-removal.bundle" \
    --main-genesis "$ECERT_DEVNET_DIR/main/genesis.yaml" >/dev/null ||
    fail "the proof made after the removal does not verify"

say "re-weigh main-2 (power 1 -> 3): the main chain's own set changes"
run_logged reweigh.log "VALIDATOR_UPDATE refused" \
    ecert --key "$op" validator set --validator-key "$keys/main-validator-2.key" --power 3
# The change is in force two main blocks later; a certificate's anchor then lands in a
# main block committed by the new set, and its bundle must carry the change.
test_transition_in_bundle() {
    local tx h out
    read -r tx h < <(issue "transition-$SECONDS") || return 1
    ecert cert proof --type degree --tx "$tx" --out "$T/transition.bundle" --wait-ms 30000 \
        >/dev/null || return 1
    out=$(ecert --json verify --bundle "$T/transition.bundle" \
        --main-genesis "$ECERT_DEVNET_DIR/main/genesis.yaml") || fail "a bundle does not verify"
    [ "$(json_field main_transitions "$out")" -ge 1 ]
}
wait_for 60 test_transition_in_bundle || fail "no bundle carries the main chain's change"
out=$(ecert verify --bundle "$T/transition.bundle" \
    --main-genesis "$ECERT_DEVNET_DIR/main/genesis.yaml") ||
    fail "the bundle made after the main chain's change does not verify from the genesis"
grep -q "validator-set change" <<<"$out" || fail "verify does not say it followed the change"
for v in 1 2 3 4; do
    [ "$(field_of "$(main_rpc_of "$v")" validators)" = 4 ] || fail "main-$v lost a validator"
done

say "add side-degree-4 back: it catches up and takes part"
devnet start side-degree-4 >/dev/null || fail "side-degree-4 does not start again"
run_logged add.log "SIDECHAIN_VALIDATOR (power 1) refused" \
    ecert --key "$op" validator set --type degree --validator-key "$keys/degree-validator-4.key" \
    --power 1
issue_until 60 set_size_is "$(side_rpc_of 1)" 4 || fail "side-degree-4 was not added back"
back() {
    local h best
    h=$(field_of "$(side_rpc_of 4)" height)
    best=$(field_of "$(side_rpc_of 1)" height)
    [ -n "$h" ] && [ $((h + 1)) -ge "$best" ] && [ "$(field_of "$(side_rpc_of 4)" validator)" = 3 ]
}
issue_until 30 back || fail "side-degree-4 does not take part after being added back"
read -r tx2 _ < <(issue after-return) || fail "issuance with four validators again failed"
ecert cert proof --type degree --tx "$tx2" --out "$T/after-return.bundle" --wait-ms 60000 \
    >/dev/null || fail "no anchored proof after the return"
pass
