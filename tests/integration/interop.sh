#!/usr/bin/env bash
# interop: a certificate leaves ecert as the credentials outside verifiers read. The
# issuing agency issues with --credentials (it signs a W3C VC 2.0 and an SD-JWT VC); the
# holder exports both, the SD-JWT with two of three fields bound to a verifier's nonce and
# audience; the agency exports the chain's status as Bitstring Status List credentials.
# `ecert import-verify` accepts them, and so do independent verifiers from npm
# (tests/interop/verify.mjs: Digital Bazaar's VC stack, the OWF SD-JWT VC library), offline.
# Refused: a changed field, a dropped or added disclosure, a wrong nonce or audience, and,
# after `cert revoke`, the revoked certificate, by ecert and by the npm verifier alike.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

interop_dir=$ECERT_SOURCE/tests/interop
[ -d "$interop_dir/node_modules/@digitalbazaar/vc" ] ||
    fail "tests/interop has no node_modules: run scripts/setup (npm ci there)"
verify_js() { node "$interop_dir/verify.mjs" "$@"; }

say "devnet up + demo"
devnet_up_with_demo
load_passphrase
genesis=$ECERT_DEVNET_DIR/main/genesis.yaml

say "the agency issues with --credentials"
rc=0
ecert cert issue --key "$AGENCY_KEY" --type "$CERT_TYPE" --holder "$CITIZEN" --org "$UNIV_ORG" \
    --field a=b --status-url "https://status.example/x" >"$T/su.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--status-url without --credentials: exit $rc, want 2 (nothing sent)"
ecert cert issue --key "$AGENCY_KEY" --type "$CERT_TYPE" --holder "$CITIZEN" --org "$UNIV_ORG" \
    --field name="Zhang Wei" --field degree="Master of Science" --field year=2024 \
    --credentials --status-url "https://status.example/$CERT_TYPE" --wait-ms 60000 \
    --json >"$T/issue.json" 2>"$T/issue.err" || {
    cat "$T/issue.err" >&2
    fail "cert issue --credentials failed"
}
cert=$(json_field cert_id "$(cat "$T/issue.json")")
[ -n "$cert" ] || fail "no certificate id"

say "the holder exports them"
run_logged vc.log "export vc failed" ecert export vc --key "$CITIZEN_KEY" --type "$CERT_TYPE" \
    --cert "$cert" --out "$T/cert.vc.json"
run_logged sd.log "export sd-jwt failed" ecert export sd-jwt --key "$CITIZEN_KEY" \
    --type "$CERT_TYPE" --cert "$cert" --fields degree,year --nonce n-123 \
    --aud https://bank.example --out "$T/cert.sdjwt"
run_logged sdall.log "export sd-jwt (all fields) failed" ecert export sd-jwt \
    --key "$CITIZEN_KEY" --type "$CERT_TYPE" --cert "$cert" --nonce n-123 \
    --aud https://bank.example --out "$T/all.sdjwt"
if ecert export vc --key "$CITIZEN_KEY" --type "$CERT_TYPE" --cert "$cert" --fields degree \
    >"$T/vcf.log" 2>&1; then fail "export vc --fields was accepted"; fi
grep -q "sd-jwt" "$T/vcf.log" || fail "export vc --fields does not point at sd-jwt"
grep -q "Zhang Wei" "$T/cert.sdjwt" && fail "the SD-JWT shows an undisclosed field in clear"

say "the agency exports the status lists"
slists() { # suffix: fetch ecert's list and make both W3C lists from it
    run_logged fetch.log "status-list fetch failed" ecert status-list fetch --type "$CERT_TYPE" \
        --out "$T/st$1" --wait-ms 60000
    for p in revocation suspension; do
        run_logged "slc_$p.log" "export status-list $p failed" ecert export status-list \
            --key "$AGENCY_KEY" --type "$CERT_TYPE" --from "$T/st$1" --purpose "$p" \
            --status-url "https://status.example/$CERT_TYPE" --out "$T/$p$1.json"
    done
}
slists 1

say "ecert import-verify accepts both"
refused() { # rc what: the command whose rc is given must have failed
    if [ "$1" -eq 0 ]; then fail "accepted: $2"; fi
}
iv() { ecert import-verify "$@" --main-genesis "$genesis" >"$T/iv.log" 2>&1; }
iv "$T/cert.vc.json" --status-list "$T/st1" --status-vc "$T/revocation1.json" \
    --status-vc "$T/suspension1.json" || {
    cat "$T/iv.log" >&2
    fail "import-verify refused the VC"
}
grep -q "ACCEPTED" "$T/iv.log" || fail "no ACCEPTED verdict for the VC"
# a list the agency signed, but not one the credential names (another --status-url)
run_logged slc_other.log "export status-list (other url) failed" ecert export status-list \
    --key "$AGENCY_KEY" --type "$CERT_TYPE" --from "$T/st1" --status-url https://other.example \
    --out "$T/other.json"
rc=0; iv "$T/cert.vc.json" --status-vc "$T/other.json" || rc=$?
refused $rc "a status list the credential does not name"
grep -q "not a status list the credential names" "$T/iv.log" || fail "$(cat "$T/iv.log")"
iv "$T/cert.sdjwt" --nonce n-123 --aud https://bank.example --online || {
    cat "$T/iv.log" >&2
    fail "import-verify refused the SD-JWT"
}
grep -q "^  degree: Master of Science" "$T/iv.log" || fail "the disclosed degree is not shown"
grep -q "name:" "$T/iv.log" && fail "an undisclosed field was shown"
grep -q "issuing agency of $UNIV_ORG" "$T/iv.log" || fail "the agency's role is not shown"

say "independent verifiers (npm) accept both"
verify_js vc "$T/cert.vc.json" "$T/revocation1.json" "$T/suspension1.json" >"$T/js.log" 2>&1 || {
    cat "$T/js.log" >&2
    fail "the npm VC verifier refused the VC"
}
grep -q "revocation=false" "$T/js.log" || fail "the npm verifier did not check revocation"
verify_js sd-jwt "$T/cert.sdjwt" n-123 https://bank.example >"$T/js.log" 2>&1 || {
    cat "$T/js.log" >&2
    fail "the npm SD-JWT verifier refused the SD-JWT"
}
grep -q "disclosed=degree,year" "$T/js.log" || fail "npm sees other disclosures: $(cat "$T/js.log")"

say "tampering is refused"
sed 's/Master of Science/Doctor of Science/' "$T/cert.vc.json" >"$T/bad.vc.json"
rc=0; iv "$T/bad.vc.json" || rc=$?; refused $rc "a VC with a changed field"
grep -q "does not verify" "$T/iv.log" || fail "no signature refusal for a changed field"
rc=0; verify_js vc "$T/bad.vc.json" >/dev/null 2>&1 || rc=$?; refused $rc "npm: changed field"
rc=0; iv "$T/cert.sdjwt" --nonce n-999 --aud https://bank.example || rc=$?
refused $rc "a wrong nonce"
grep -q "wrong nonce" "$T/iv.log" || fail "no 'wrong nonce' reason"
rc=0; verify_js sd-jwt "$T/cert.sdjwt" n-999 https://bank.example >/dev/null 2>&1 || rc=$?
refused $rc "npm: wrong nonce"
rc=0; iv "$T/cert.sdjwt" --nonce n-123 --aud https://shop.example || rc=$?
refused $rc "a wrong audience"
grep -q "wrong audience" "$T/iv.log" || fail "no 'wrong audience' reason"
# dropped: the second part (first disclosure) removed after the holder signed
awk -F'~' -v OFS='~' '{ $2 = ""; sub(/~~/, "~"); print }' "$T/cert.sdjwt" >"$T/drop.sdjwt"
rc=0; iv "$T/drop.sdjwt" --nonce n-123 --aud https://bank.example || rc=$?
refused $rc "a dropped disclosure"
rc=0; verify_js sd-jwt "$T/drop.sdjwt" n-123 https://bank.example >/dev/null 2>&1 || rc=$?
refused $rc "npm: a dropped disclosure"
# added: the undisclosed name's disclosure (from the full export) put in
name_disc=$(node -e 'for (const d of require("fs").readFileSync(process.argv[1], "utf8").split("~"))
    { try { if (JSON.parse(Buffer.from(d, "base64url"))[1] === "name") console.log(d); } catch {} }' \
    "$T/all.sdjwt")
[ -n "$name_disc" ] || fail "no disclosure of 'name' in the full export"
awk -F'~' -v OFS='~' -v d="$name_disc" '{ $1 = $1 "~" d; print }' "$T/cert.sdjwt" >"$T/add.sdjwt"
rc=0; iv "$T/add.sdjwt" --nonce n-123 --aud https://bank.example || rc=$?
refused $rc "an added disclosure"
rc=0; verify_js sd-jwt "$T/add.sdjwt" n-123 https://bank.example >/dev/null 2>&1 || rc=$?
refused $rc "npm: an added disclosure"

say "a revoked certificate fails inside and outside"
run_logged revoke.log "cert revoke failed" ecert cert revoke --key "$AGENCY_KEY" \
    --type "$CERT_TYPE" --cert "$cert" --reason "issued in error"
slists 2
rc=0; iv "$T/cert.vc.json" --status-list "$T/st2" || rc=$?; refused $rc "revoked (ecert list)"
grep -q "revoked" "$T/iv.log" || fail "no 'revoked' verdict"
rc=0; iv "$T/cert.sdjwt" --nonce n-123 --aud https://bank.example \
    --status-vc "$T/revocation2.json" || rc=$?
refused $rc "revoked (W3C list)"
grep -q "revocation bit is set" "$T/iv.log" || fail "no W3C revocation verdict"
rc=0
verify_js vc "$T/cert.vc.json" "$T/revocation2.json" "$T/suspension2.json" >"$T/js.log" 2>&1 ||
    rc=$?
refused $rc "npm: revoked"
grep -q "REFUSED: status revocation" "$T/js.log" || fail "npm: $(cat "$T/js.log")"

say "a gateway serves the agency's lists as they were signed"
sdir=$T/status/$CERT_TYPE/$AGENCY
mkdir -p "$sdir"
cp "$T/revocation2.json" "$sdir/revocation.json"
p2=$((ECERT_PORT_BASE + 620))
"$ECERT_BUILD/gateway/ecert-gateway" --client-config "$ECERT_CONFIG" --listen "127.0.0.1:$p2" \
    --portal '' --status-dir "$T/status" >"$T/gw2.log" 2>&1 8>&- 9>&- &
echo $! >"$ECERT_DEVNET_DIR/run/gw2.pid" # stopped by the trap with the others
S=http://127.0.0.1:$p2/api/v1/chains/$CERT_TYPE/status-lists/$AGENCY
wait_for 10 curl -sf "http://127.0.0.1:$p2/healthz" || fail "the gateway does not answer"
curl -sf "$S/revocation" >"$T/served.json" || fail "the gateway does not serve the list"
[ "$(jq -S . "$T/served.json")" = "$(jq -S . "$T/revocation2.json")" ] ||
    fail "the served list differs from the agency's file"
code=$(curl -s -o /dev/null -w '%{http_code}' "$S/suspension")
[ "$code" = 404 ] || fail "an unpublished list answered $code, want 404"
code=$(curl -s -o /dev/null -w '%{http_code}' "$S/expiry")
[ "$code" = 400 ] || fail "an unknown purpose answered $code, want 400"
pass
