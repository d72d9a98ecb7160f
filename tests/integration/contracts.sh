#!/usr/bin/env bash
# contracts: a contract on a side chain, end to end. The operator grants the issuing
# agency the contract-deployer role for its organization; it deploys
# deploy/contracts/reimburse.lua; a citizen reimburses an invoice (the result comes back),
# a second reimbursement of it is refused with the contract's own message, and the state,
# the total and the event are there to read; someone without the role cannot deploy,
# someone who does not own the contract cannot upgrade it; the owner upgrades it; a
# contract that loops forever is refused at its budget, and code that does not compile is
# refused at deployment.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up + demo"
devnet_up_with_demo
load_passphrase
code=$ECERT_SOURCE/deploy/contracts/reimburse.lua

# expect_refused CODE TEXT LOG command...: the command fails with CODE and says TEXT.
expect_refused() {
    local code=$1 text=$2 log=$T/$3
    shift 3
    if "$@" >"$log" 2>&1; then
        fail "'$*' succeeded; want $code"
    fi
    if ! grep -q "$code" "$log" || ! grep -q -- "$text" "$log"; then
        cat "$log" >&2
        fail "'$*' did not fail with $code saying '$text'"
    fi
}

say "the agency gets the deployer role and deploys"
run_logged grant.log "granting the deployer role failed" ecert --key \
    "$ECERT_DEVNET_DIR/keys/operator.key" role grant --address "$AGENCY" --role deployer \
    --type "$CERT_TYPE" --org "$UNIV_ORG"
expect_refused EPERM "contract deployer" notdeployer.log ecert --key "$INSPECTOR_KEY" \
    contract deploy --type "$CERT_TYPE" --name reimburse --org "$INSP_ORG" --code "$code"
deploy() { ecert --key "$AGENCY_KEY" contract deploy --type "$CERT_TYPE" --name reimburse \
    --org "$UNIV_ORG" --code "$code" >"$T/deploy.log" 2>&1; }
wait_for 30 deploy || {
    cat "$T/deploy.log" >&2
    fail "the deployer cannot deploy"
}

say "a reimbursement runs once"
out=$(ecert --json --key "$CITIZEN_KEY" contract call --type "$CERT_TYPE" --name reimburse \
    --fn reimburse --args '["INV-2026-0001", 125000]') || fail "the call failed"
grep -q '"result":{"amount":125000,"number":"INV-2026-0001"}' <<<"$out" ||
    fail "the call's result is not the contract's: $out"
expect_refused ECONTRACT "was reimbursed already" twice.log ecert --key "$CA_KEY" \
    contract call --type "$CERT_TYPE" --name reimburse --fn reimburse \
    --args '["INV-2026-0001", 125000]'
out=$(ecert --json contract query --type "$CERT_TYPE" --name reimburse --fn paid \
    --args '["INV-2026-0001"]') || fail "the query failed"
grep -q "\"by\":\"$CITIZEN\"" <<<"$out" || fail "the contract did not record the caller: $out"
out=$(ecert --json contract query --type "$CERT_TYPE" --name reimburse --fn total)
grep -q '"result":{"count":1,"sum":125000}' <<<"$out" || fail "the total is wrong: $out"
expect_refused ESTATE "only reads" readonly.log ecert contract query --type "$CERT_TYPE" \
    --name reimburse --fn reimburse --args '["INV-2026-0002", 1]'
ecert contract events --type "$CERT_TYPE" --name reimburse >"$T/events.log" ||
    fail "contract events failed"
grep -q "reimbursed {\"amount\":125000,\"number\":\"INV-2026-0001\"}" "$T/events.log" || {
    cat "$T/events.log" >&2
    fail "the event is not listed"
}

say "only the owner upgrades; limits and bad code are refusals"
printf '%s\n' "function spin() while true do end end" "function paid(n) return 'v2' end" \
    >"$T/v2.lua"
expect_refused EPERM "contract deployer" notowner.log ecert --key "$CITIZEN_KEY" \
    contract upgrade --type "$CERT_TYPE" --name reimburse --org "$UNIV_ORG" --code "$T/v2.lua"
ecert --key "$AGENCY_KEY" contract upgrade --type "$CERT_TYPE" --name reimburse \
    --org "$UNIV_ORG" --code "$T/v2.lua" >/dev/null || fail "the owner cannot upgrade"
out=$(ecert --json contract show --type "$CERT_TYPE" --name reimburse)
[ "$(json_field version "$out")" = 2 ] || fail "the upgrade did not make version 2: $out"
expect_refused ELIMIT "budget" spin.log ecert --key "$CITIZEN_KEY" contract call \
    --type "$CERT_TYPE" --name reimburse --fn spin
printf 'function (\n' >"$T/bad.lua"
expect_refused ECONTRACT "contract code" bad.log ecert --key "$AGENCY_KEY" contract deploy \
    --type "$CERT_TYPE" --name broken --org "$UNIV_ORG" --code "$T/bad.lua"
pass
