#!/usr/bin/env bash
# gov_quorum: the main chain's operators act 2 of 3. The devnet registers its side chain
# through a proposal; an operator alone is refused and told to propose; a proposal runs
# when a second operator approves it (not the proposer again, not a non-operator); roles
# granted that way work: the new certification authority attests an identity, and the new
# issuing agency issues it a certificate on the side chain; an expired proposal cannot run; the operator set changes by the same
# quorum, after which a removed operator can no longer propose and a single operator acts
# alone again. `gov list --all` shows every proposal in order.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cat >"$T/chains.yaml" <<'EOF'
sides:
  - {type: degree, rpc: 7100, pub: 7101}
EOF
export ECERT_DEVNET_CHAINS=$T/chains.yaml

say "devnet up with 3 operators, 2 needed for an action"
run_logged up.log "devnet up --operators 3 --quorum 2 failed" devnet up --operators 3 --quorum 2
load_passphrase
keys=$ECERT_DEVNET_DIR/keys
op1=$keys/operator.key
op2=$keys/operator-2.key
op3=$keys/operator-3.key

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

out=$(ecert --json gov operators) || fail "gov operators failed"
[ "$(json_field quorum "$out")" = 2 ] || fail "quorum is not 2: $out"
out=$(ecert --json gov list --all) || fail "gov list --all failed"
if ! grep -q '"action":"SIDECHAIN"' <<<"$out" || ! grep -q '"state":"ran"' <<<"$out"; then
    fail "the side chain was not registered through a proposal: $out"
fi

say "an operator alone is refused"
expect_refused EPERM "propose it" alone.log \
    ecert --key "$op1" org register --code ORG-Q --name "Quorum Registry"

say "proposed by one, approved by another: it runs"
out=$(ecert --json --key "$op1" gov propose --expires 1h org register --code ORG-Q \
    --name "Quorum Registry") || fail "gov propose failed"
id=$(json_field proposal "$out")
[ "$(json_field state "$out")" = open ] || fail "a new proposal is not open: $out"
ecert account new --name "stranger" --out "$T/stranger.key" >/dev/null ||
    fail "account new failed"
expect_refused EEXIST "already approved" twice.log ecert --key "$op1" gov approve "$id"
expect_refused EPERM "not an operator" stranger.log ecert --key "$T/stranger.key" gov approve "$id"
out=$(ecert --json --key "$op2" gov approve "$id") || fail "the second approval failed"
[ "$(json_field state "$out")" = ran ] || fail "the proposal did not run: $out"
expect_refused ESTATE "already ran" again.log ecert --key "$op3" gov approve "$id"

say "a role granted through a proposal reaches the side chain"
ecert account new --name "registrar" --out "$T/registrar.key" >/dev/null || fail "account new"
ecert account new --name "graduate" --out "$T/graduate.key" >/dev/null || fail "account new"
registrar=$(json_field address "$(ecert --json account address --key "$T/registrar.key")")
graduate=$(json_field address "$(ecert --json account address --key "$T/graduate.key")")
ecert account new --name "authority" --out "$T/ca.key" >/dev/null || fail "account new"
ca=$(json_field address "$(ecert --json account address --key "$T/ca.key")")
grant() { # role args...: proposed by op3, approved by op1
    local out id
    out=$(ecert --json --key "$op3" gov propose role grant --role "$@") ||
        fail "proposing the $1 role failed"
    id=$(json_field proposal "$out")
    out=$(ecert --json --key "$op1" gov approve "$id") || fail "approving the $1 role failed"
    [ "$(json_field state "$out")" = ran ] || fail "the $1 role grant did not run: $out"
}
grant issuer --address "$registrar" --type degree --org ORG-Q
grant ca --address "$ca"
ecert --key "$T/ca.key" identity attest --address "$graduate" --attr "name=Wang Fang" \
    --attr "id_number=11010519491231002X" >/dev/null || fail "the CA made by a proposal cannot attest"
issue() {
    ecert --json --key "$T/registrar.key" cert issue --type degree --holder "$graduate" \
        --org ORG-Q --field "degree=Bachelor" >"$T/issue.json" 2>"$T/issue.log"
}
wait_for 60 issue || {
    cat "$T/issue.log" >&2
    fail "the issuing agency made by a proposal cannot issue"
}

say "an expired proposal cannot run"
out=$(ecert --json --key "$op2" gov propose --expires 1s org register --code ORG-LATE \
    --name "Too Late") || fail "gov propose --expires 1s failed"
id=$(json_field proposal "$out")
sleep 2
expect_refused ESTATE "expired" late.log ecert --key "$op1" gov approve "$id"

say "the operator set changes by the same quorum"
out=$(ecert --json --key "$op3" gov propose gov set-operators --operator-key "$op1" \
    --operator-key "$op2" --quorum 1) || fail "proposing the new set failed"
id=$(json_field proposal "$out")
out=$(ecert --json --key "$op1" gov approve "$id") || fail "approving the new set failed"
[ "$(json_field state "$out")" = ran ] || fail "the new set did not take effect: $out"
out=$(ecert --json gov operators)
[ "$(json_field quorum "$out")" = 1 ] || fail "quorum is not 1 after the change: $out"
ecert --key "$op2" org register --code ORG-ALONE --name "Alone Again" >/dev/null ||
    fail "an operator alone is refused under quorum 1"
expect_refused EPERM "not an operator" removed.log \
    ecert --key "$op3" gov propose org register --code ORG-GONE --name "Gone"

out=$(ecert --json gov list --all) || fail "gov list --all failed"
n=$(grep -o '"proposal":"' <<<"$out" | wc -l)
[ "$n" -eq 6 ] || fail "gov list --all shows $n proposals, want 6: $out"
pass
