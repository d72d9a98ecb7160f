#!/usr/bin/env bash
# contracts: contracts on side chains, end to end, on a devnet with a license and an
# invoice chain.
# - The demo on the license chain runs the business-license rule (deploy/contracts/
#   license.lua): one application approved by the rule, one escalated and approved by a
#   licensing officer's signed decision, the license issued and recorded; `audit decision`
#   proves the whole path. Only a licensing officer decides, and only once; a refused
#   application names its rule, and its event is announced on the chain's PUB socket.
# - E-invoices (deploy/contracts/invoice.lua) on the invoice chain: the tax bureau deploys
#   and registers an issuer; the issuer issues an invoice sealed to the buyer and the
#   bureau; both open it, nobody else can; the buyer accepts; the reimbursement is recorded
#   once and a second is refused; the bureau lists the issuer's invoices.
# - The engine's edges through a chain (deploy/contracts/reimburse.lua): only a deployer
#   deploys and only the owner upgrades; a query cannot write; a contract that loops forever
#   is refused at its budget; code that does not compile is refused at deployment; the main
#   chain hosts a contract as well, deployed by a holder of its own deployer role.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cat >"$T/chains.yaml" <<'EOF'
sides:
  - {type: license, rpc: 7100, pub: 7101}
  - {type: invoice, rpc: 7110, pub: 7111}
EOF
export ECERT_DEVNET_CHAINS=$T/chains.yaml

say "devnet up + demo on the license chain (with the business-license rule)"
devnet_up
run_logged demo.log "the demo failed" demo --out "$T/demo" --type license
# shellcheck source=/dev/null
. "$T/demo/demo.env"
load_passphrase
[ -n "${LICENSE_RULE:-}" ] || fail "the demo did not run the business-license rule"
grep -q "approved by the rule" "$T/demo.log" || fail "no application was approved by the rule"
grep -q "escalated to a licensing officer" "$T/demo.log" || fail "nothing was escalated"

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

say "the license decision: audited, settled once, by an officer only"
out=$(ecert --json audit decision --type license --name "$LICENSE_RULE" \
    --id "$LICENSE_DECISION") || fail "audit decision failed: $out"
for action in CONTRACT_CALL CONTRACT_DECIDE ISSUE; do
    grep -q "\"action\": *\"$action\"" <<<"$out" || fail "the audit shows no $action: $out"
done
grep -q "\"tx\": *\"$LICENSE_TX\"" <<<"$out" || fail "the audit does not reach the license: $out"
[ "$(grep -o '"verified": *true' <<<"$out" | wc -l)" -ge 5 ] ||
    fail "the audit did not verify every step: $out"
expect_refused EEXIST "was settled" decide_twice.log ecert --key "$BUREAU_KEY" contract decide \
    --type license --name "$LICENSE_RULE" --id "$LICENSE_DECISION" --decision '"approve"'
ecert contract decisions --type license --name "$LICENSE_RULE" >"$T/decisions.log" ||
    fail "contract decisions failed"
grep -q "decided \"approve\" by $BUREAU" "$T/decisions.log" || {
    cat "$T/decisions.log" >&2
    fail "the decision is not listed as decided by the officer"
}
apply() { # key name capital
    ecert --json --key "$1" contract call --type license --name "$LICENSE_RULE" --fn apply \
        --args "[{\"name\": \"$2\", \"address\": \"1 Road\", \"scope\": \"retail\", \"capital\": $3}]"
}
tag=${LICENSE_RULE#license-} # the demo's names end with it
out=$(apply "$CITIZEN_KEY" "Li Hua Tea House ${tag}x" 50000) || fail "the third application failed"
grep -q '"state": *"escalated"' <<<"$out" || fail "a close name was not escalated: $out"
pending=$(json_field decision "$out")
expect_refused EPERM "is not a issuer of org $LICENSE_ORG" decide_citizen.log ecert \
    --key "$CITIZEN_KEY" contract decide --type license --name "$LICENSE_RULE" --id "$pending" \
    --decision '"approve"'
out=$(ecert --json --key "$BUREAU_KEY" contract decide --type license --name "$LICENSE_RULE" \
    --id "$pending" --decision '{"refuse": "too close to a licensed name"}') ||
    fail "the officer cannot refuse: $out"
grep -q '"state": *"refused"' <<<"$out" || fail "the refusal did not settle it: $out"

say "a refused application names its rule; its event is announced on PUB"
license_pub="tcp://127.0.0.1:$(($(side_rpc license | sed 's/.*://') + 1))"
probe events "$license_pub" 1 20000 >"$T/pub.log" 2>&1 &
probe_pid=$!
sleep 0.5
out=$(apply "$CITIZEN_KEY" "Small Shop $$" 100) || fail "the small application failed: $out"
grep -q 'rule 3: the registered capital must be at least 30000 yuan' <<<"$out" ||
    fail "the refusal does not name rule 3: $out"
wait "$probe_pid" || {
    cat "$T/pub.log" >&2
    fail "no event arrived on PUB"
}
grep -q "^event [0-9]* $LICENSE_RULE [0-9]* apply refused$" "$T/pub.log" || {
    cat "$T/pub.log" >&2
    fail "the announced event is not the refusal"
}

say "e-invoices: the tax bureau deploys and registers an issuer"
tax_key=$T/tax.key
run_logged tax.log "the tax bureau's account" ecert account new --name "tax-$$" --out "$tax_key"
TAX=$(ecert account address --key "$tax_key" | grep -oE 'ec1[0-9a-z]+' | head -n 1)
TAX_ORG=TAX-$$
operator=$ECERT_DEVNET_DIR/keys/operator.key
run_logged org.log "registering the tax bureau" ecert --key "$operator" org register \
    --code "$TAX_ORG" --name "Tax Bureau $$"
for role in issuer deployer; do
    run_logged "grant-$role.log" "granting the tax bureau $role" ecert --key "$operator" \
        role grant --address "$TAX" --role "$role" --type invoice --org "$TAX_ORG"
done
deploy_invoice() { ecert --key "$tax_key" contract deploy --type invoice --name invoice \
    --org "$TAX_ORG" --code "$ECERT_SOURCE/deploy/contracts/invoice.lua" >"$T/inv.log" 2>&1; }
wait_for 30 deploy_invoice || {
    cat "$T/inv.log" >&2
    fail "the tax bureau cannot deploy the invoice contract"
}
expect_refused ECONTRACT "only the tax bureau" reg_self.log ecert --key "$AGENCY_KEY" \
    contract call --type invoice --name invoice --fn register_issuer \
    --args "[\"$AGENCY\", \"Tea Supplies Ltd\"]"
run_logged register.log "registering the issuer" ecert --key "$tax_key" contract call \
    --type invoice --name invoice --fn register_issuer --args "[\"$AGENCY\", \"Tea Supplies Ltd\"]"

say "an invoice sealed to the buyer and the bureau; only they open it"
printf 'Invoice INV-%s-1\n20 kg green tea, 1250.00 yuan\n' "$$" >"$T/invoice.txt"
number="INV-$$-1"
issue() { # to
    ecert --key "$AGENCY_KEY" contract call --type invoice --name invoice --fn issue \
        --args "[\"$number\", \"$CITIZEN\", 125000]" --seal "$T/invoice.txt" --to "$1"
}
expect_refused ECONTRACT "not sealed to the tax bureau" seal_buyer.log issue "$CITIZEN"
run_logged issue.log "issuing the invoice" issue "$CITIZEN,$TAX"
expect_refused ECONTRACT "exists" issue_twice.log issue "$CITIZEN,$TAX"
for who in "$CITIZEN_KEY" "$tax_key"; do
    ecert --key "$who" contract open --type invoice --name invoice --fn get \
        --args "[\"$number\"]" --out "$T/opened.txt" >/dev/null || fail "$who cannot open it"
    cmp -s "$T/opened.txt" "$T/invoice.txt" || fail "what $who opened is not the invoice"
done
expect_refused EPERM "nothing in the result is sealed to $INSPECTOR" open_other.log ecert \
    --json --key "$INSPECTOR_KEY" contract open --type invoice --name invoice --fn get \
    --args "[\"$number\"]"
out=$(ecert --json contract query --type invoice --name invoice --fn get --args "[\"$number\"]")
if grep -q "green tea" <<<"$out"; then fail "the invoice's contents are on chain in clear"; fi

say "the buyer accepts; reimbursement exactly once; the bureau lists the issuer's invoices"
expect_refused ECONTRACT "not accepted" early.log ecert --key "$INSPECTOR_KEY" contract call \
    --type invoice --name invoice --fn reimburse --args "[\"$number\"]"
expect_refused ECONTRACT "only the buyer" accept_other.log ecert --key "$INSPECTOR_KEY" \
    contract call --type invoice --name invoice --fn accept --args "[\"$number\"]"
run_logged accept.log "the buyer cannot accept" ecert --key "$CITIZEN_KEY" contract call \
    --type invoice --name invoice --fn accept --args "[\"$number\"]"
run_logged reimburse.log "the reimbursement failed" ecert --key "$INSPECTOR_KEY" contract call \
    --type invoice --name invoice --fn reimburse --args "[\"$number\"]"
expect_refused ECONTRACT "was reimbursed already" twice.log ecert --key "$CA_KEY" \
    contract call --type invoice --name invoice --fn reimburse --args "[\"$number\"]"
out=$(ecert --json contract query --type invoice --name invoice --fn list \
    --args "[\"$AGENCY\", 0, 9999999999999]") || fail "the bureau cannot list: $out"
grep -q "\"number\":\"$number\"" <<<"$out" || fail "the list lacks the invoice: $out"
grep -q '"state":"reimbursed"' <<<"$out" || fail "the list does not show it reimbursed: $out"
ecert contract events --type invoice --name invoice >"$T/inv_events.log" ||
    fail "contract events failed"
for ev in "issuer registered" issued accepted reimbursed; do
    grep -q "  $ev {" "$T/inv_events.log" || {
        cat "$T/inv_events.log" >&2
        fail "the event '$ev' is not listed"
    }
done

say "the engine's edges: roles, owner-only upgrade, read-only queries, budget, bad code"
code=$ECERT_SOURCE/deploy/contracts/reimburse.lua
run_logged grant.log "granting the deployer role failed" ecert --key "$operator" role grant \
    --address "$AGENCY" --role deployer --type license --org "$UNIV_ORG"
expect_refused EPERM "contract deployer" notdeployer.log ecert --key "$INSPECTOR_KEY" \
    contract deploy --type license --name reimburse --org "$INSP_ORG" --code "$code"
deploy() { ecert --key "$AGENCY_KEY" contract deploy --type license --name reimburse \
    --org "$UNIV_ORG" --code "$code" >"$T/deploy.log" 2>&1; }
wait_for 30 deploy || {
    cat "$T/deploy.log" >&2
    fail "the deployer cannot deploy"
}
out=$(ecert --json --key "$CITIZEN_KEY" contract call --type license --name reimburse \
    --fn reimburse --args '["INV-2026-0001", 125000]') || fail "the call failed"
grep -q '"result":{"amount":125000,"number":"INV-2026-0001"}' <<<"$out" ||
    fail "the call's result is not the contract's: $out"
expect_refused ESTATE "only reads" readonly.log ecert contract query --type license \
    --name reimburse --fn reimburse --args '["INV-2026-0002", 1]'
printf '%s\n' "function spin() while true do end end" "function paid(n) return 'v2' end" \
    >"$T/v2.lua"
expect_refused EPERM "contract deployer" notowner.log ecert --key "$CITIZEN_KEY" \
    contract upgrade --type license --name reimburse --org "$UNIV_ORG" --code "$T/v2.lua"
ecert --key "$AGENCY_KEY" contract upgrade --type license --name reimburse \
    --org "$UNIV_ORG" --code "$T/v2.lua" >/dev/null || fail "the owner cannot upgrade"
out=$(ecert --json contract show --type license --name reimburse)
[ "$(json_field version "$out")" = 2 ] || fail "the upgrade did not make version 2: $out"
expect_refused ELIMIT "budget" spin.log ecert --key "$CITIZEN_KEY" contract call \
    --type license --name reimburse --fn spin
say "the main chain hosts contracts too (its genesis enables them)"
run_logged grant_main.log "granting the main chain's deployer role failed" ecert --key "$operator" \
    role grant --address "$TAX" --role deployer --org "$TAX_ORG"
run_logged deploy_main.log "deploying on the main chain failed" ecert --key "$tax_key" \
    contract deploy --type main --name reimburse --org "$TAX_ORG" --code "$code"
out=$(ecert --json --key "$CITIZEN_KEY" contract call --type main --name reimburse \
    --fn reimburse --args '["INV-MAIN-1", 500]') || fail "the main-chain call failed: $out"
grep -q '"result":{"amount":500,"number":"INV-MAIN-1"}' <<<"$out" ||
    fail "the main-chain call's result is not the contract's: $out"
expect_refused EPERM "contract deployer of org $UNIV_ORG for the main chain" main_nodeploy.log \
    ecert --key "$AGENCY_KEY" contract deploy --type main --name other --org "$UNIV_ORG" \
    --code "$code"
printf 'function (\n' >"$T/bad.lua"
expect_refused ECONTRACT "contract code" bad.log ecert --key "$AGENCY_KEY" contract deploy \
    --type license --name broken --org "$UNIV_ORG" --code "$T/bad.lua"
pass
