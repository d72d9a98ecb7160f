#!/usr/bin/env bash
# key_rotation: the account, not the key, is the identity. After the demo, the citizen
# rotates to a new key: the address, attestation and certificates stay; the old key is
# refused on the main chain and, once the relay brought the change, on the side chain
# (and a presentation it signs is refused by a verifier checking online);
# a new certificate is sealed to the new key and acknowledged with it, while the old
# certificate still opens with the old key. The issuing agency rotates too and issues with
# its new key only. A certification authority starts a recovery, which the current key
# vetoes; after the holder revokes its key, nothing is sealed to the account, a recovery
# starts again and cannot finish before its waiting period. The audit lists the changes.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up + demo"
devnet_up_with_demo
load_passphrase

# expect_refused TEXT LOG command...: the command fails and says TEXT.
expect_refused() {
    local text=$1 log=$T/$2
    shift 2
    if "$@" >"$log" 2>&1; then
        fail "'$*' succeeded; want a refusal saying '$text'"
    fi
    if ! grep -q -- "$text" "$log"; then
        cat "$log" >&2
        fail "'$*' did not say '$text'"
    fi
}
newkey() { ecert account new --offline --name "$1" --out "$T/$1.key" >/dev/null || fail "key $1"; }

say "the citizen rotates its key: the address stays"
newkey citizen-2
out=$(ecert --json --key "$CITIZEN_KEY" key rotate --new-key "$T/citizen-2.key") ||
    fail "key rotate failed"
[ "$(json_field address "$out")" = "$CITIZEN" ] || fail "the rotation names another account: $out"
out=$(ecert --json account pubkey "$CITIZEN")
new_pk=$(json_field pk "$(ecert --json account address --key "$T/citizen-2.key")")
[ "$(json_field key "$out")" = "$new_pk" ] || fail "the account does not sign with the new key"
[ "$(json_field attested "$out")" = true ] || fail "the rotation lost the attestation"
expect_refused "no longer signs" old-main.log \
    ecert --key "$CITIZEN_KEY" key rotate --new-key "$T/citizen-2.key"
# A presentation signed with the replaced key is refused by a verifier that checks online.
ecert verifier request --key "$INSPECTOR_KEY" --type "$CERT_TYPE" --fields name \
    --out "$T/req" >/dev/null || fail "verifier request failed"
ecert present --key "$CITIZEN_KEY" --type "$CERT_TYPE" --cert "$CERT_TX" --request "$T/req" \
    --out "$T/ans" --wait-ms 60000 >"$T/present.log" 2>&1 || {
    cat "$T/present.log" >&2
    fail "present failed"
}
expect_refused "key-retired" retired.log ecert verify-presentation --in "$T/ans" \
    --request "$T/req" --online --wait-ms 60000

say "a new certificate is sealed to the new key; the old one opens with the old key"
out=$(ecert --json --key "$AGENCY_KEY" cert issue --type degree --holder "$CITIZEN" \
    --org "$UNIV_ORG" --field "degree=Master") || fail "issuing to the rotated holder failed"
cert2=$(json_field tx "$out")
ecert --key "$T/citizen-2.key" cert get --type degree --tx "$cert2" >"$T/get2.log" ||
    fail "the new key does not open the new certificate"
grep -q "degree: Master" "$T/get2.log" || fail "the new certificate's field is not shown"
ecert --key "$CITIZEN_KEY" cert get --type degree --tx "$CERT_TX" >"$T/get1.log" ||
    fail "the old key no longer opens the old certificate"
ack_old() { ! ecert --key "$CITIZEN_KEY" cert ack --type degree --cert "$cert2" >"$T/ack-old.log" 2>&1; }
wait_for 30 ack_old || fail "the side chain took the old key's acknowledgement"
grep -q "no longer signs" "$T/ack-old.log" || {
    cat "$T/ack-old.log" >&2
    fail "the old key's refusal does not say why"
}
ecert --key "$T/citizen-2.key" cert ack --type degree --cert "$cert2" >/dev/null ||
    fail "the new key cannot acknowledge"

say "the issuing agency rotates and issues with its new key only"
newkey registrar-2
ecert --key "$AGENCY_KEY" key rotate --new-key "$T/registrar-2.key" >/dev/null ||
    fail "the agency's rotation failed"
issue_with() { # key
    ecert --key "$1" cert issue --type degree --holder "$CITIZEN" --org "$UNIV_ORG" \
        --field "degree=Doctor" >"$T/issue.log" 2>&1
}
issue_old_refused() { ! issue_with "$AGENCY_KEY"; }
wait_for 30 issue_old_refused || fail "the agency's old key still issues"
grep -q "no longer signs" "$T/issue.log" || {
    cat "$T/issue.log" >&2
    fail "the old agency key's refusal does not say why"
}
issue_with "$T/registrar-2.key" || {
    cat "$T/issue.log" >&2
    fail "the agency's new key cannot issue"
}

say "a recovery the current key did not ask for is vetoed"
newkey citizen-3
ecert --key "$CA_KEY" key recover --address "$CITIZEN" --new-key "$T/citizen-3.key" >/dev/null ||
    fail "the CA cannot start a recovery"
out=$(ecert --json account pubkey "$CITIZEN")
grep -q '"recovery"' <<<"$out" || fail "no pending recovery shown: $out"
expect_refused "waiting period" early.log \
    ecert --key "$T/citizen-3.key" key recover-finish --address "$CITIZEN"
expect_refused "certification authority" notca.log \
    ecert --key "$INSPECTOR_KEY" key recover --address "$CITIZEN" --new-key "$T/citizen-3.key"
ecert --key "$T/citizen-2.key" key veto >/dev/null || fail "the current key cannot veto"
out=$(ecert --json account pubkey "$CITIZEN")
! grep -q '"recovery"' <<<"$out" || fail "the vetoed recovery is still pending: $out"

say "a revoked key leaves the account without one until a recovery"
expect_refused "--yes" noyes.log ecert --key "$T/citizen-2.key" key revoke
ecert --key "$T/citizen-2.key" key revoke --yes >/dev/null || fail "key revoke failed"
expect_refused "revoked its key" sealrevoked.log \
    ecert --key "$T/registrar-2.key" cert issue --type degree --holder "$CITIZEN" \
    --org "$UNIV_ORG" --field "degree=None"
ecert --key "$CA_KEY" key recover --address "$CITIZEN" --new-key "$T/citizen-3.key" >/dev/null ||
    fail "the CA cannot start the recovery of a revoked account"
expect_refused "waiting period" early2.log \
    ecert --key "$T/citizen-3.key" key recover-finish --address "$CITIZEN"

say "the audit lists every key change"
ecert audit identity --address "$CITIZEN" >"$T/audit.log" 2>&1 || {
    cat "$T/audit.log" >&2
    fail "audit identity failed"
}
n=$(grep -c "signs with key\|signing key revoked" "$T/audit.log" || true)
[ "$n" -eq 2 ] || {
    cat "$T/audit.log" >&2
    fail "the audit shows $n key changes, want 2"
}
pass
