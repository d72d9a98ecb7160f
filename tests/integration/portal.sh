#!/usr/bin/env bash
# portal: the web portal in Debian's Chromium (headless, driven by playwright-core). A devnet
# with the demo; a second certificate issued and revoked with the CLI; ecert-gateway serving
# the API and gateway/portal; then the browser tests (tests/browser/*.mjs): the verify page
# accepts a real bundle, still does with the network cut, refuses a bundle with a byte
# flipped and says revoked for the revoked one; the holder page opens the key file,
# decrypts the certificate and answers a verifier's request, and `ecert verify-presentation`
# accepts that answer; plus the explorer's and supervisor's own tests when present, and
# the verification library's node unit tests (tests/js/ecert_lib.test.mjs). Screenshots
# are kept in $ECERT_BUILD/portal-artifacts (the path is printed).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

gateway_bin=$ECERT_BUILD/gateway/ecert-gateway
[ -x "$gateway_bin" ] || fail "no gateway at $gateway_bin (build it first)"
[ -x /usr/bin/chromium ] || fail "no /usr/bin/chromium (scripts/setup installs it)"
[ -d "$ECERT_SOURCE/tests/js/node_modules/playwright-core" ] ||
    fail "no playwright-core in tests/js/node_modules (scripts/setup runs npm ci)"
[ -d "$ECERT_SOURCE/gateway/portal/node_modules/@msgpack" ] ||
    fail "no browser libraries in gateway/portal/node_modules (scripts/setup runs npm ci)"

say "devnet up + demo"
devnet_up_with_demo
load_passphrase

say "a second certificate, revoked; the bundles, a status list, a QR code of the first"
run_logged issue2.log "the second issue failed" ecert --json cert issue --key "$AGENCY_KEY" \
    --type "$CERT_TYPE" --holder "$CITIZEN" --org "$UNIV_ORG" --field "name=Revoked One"
revoked_tx=$(json_field tx "$(cat "$T/issue2.log")")
[ -n "$revoked_tx" ] || fail "no tx id in: $(cat "$T/issue2.log")"
run_logged revoke.log "revoke failed" ecert cert revoke --key "$AGENCY_KEY" --type "$CERT_TYPE" \
    --cert "$revoked_tx" --reason "issued in error"
run_logged proof2.log "proof of the revoked certificate failed" ecert cert proof \
    --type "$CERT_TYPE" --tx "$revoked_tx" --out "$T/revoked.bundle" --wait-ms 30000
run_logged slist.log "status-list fetch failed" ecert status-list fetch --type "$CERT_TYPE" \
    --out "$T/after-revoke.status" --wait-ms 30000
run_logged qr.log "proof --qr failed" ecert cert proof --type "$CERT_TYPE" --tx "$CERT_TX" \
    --qr "$T/bundle.png" --wait-ms 30000
run_logged request.log "verifier request failed" ecert verifier request --key "$INSPECTOR_KEY" \
    --type "$CERT_TYPE" --fields name,degree --out "$T/request.bin" --valid-s 600
main_hash=$(sed -n 's/^main_genesis_hash: *"\{0,1\}\([0-9a-f]*\)"\{0,1\}/\1/p' \
    "$ECERT_DEVNET_DIR/sides/$CERT_TYPE/genesis.yaml")
[ -n "$main_hash" ] || fail "no main_genesis_hash in the side genesis"

say "ecert-gateway"
# scripts/devnet starts one on base+600; without it (an older devnet script) start our own.
base_url=http://127.0.0.1:$((ECERT_PORT_BASE + 600))
if ! curl -fsS -o /dev/null --max-time 2 "$base_url/healthz" 2>/dev/null; then
    gw_port=$((ECERT_PORT_BASE + 240))
    ! port_busy "$gw_port" || fail "port $gw_port is taken"
    "$gateway_bin" --client-config "$ECERT_CONFIG" --listen "127.0.0.1:$gw_port" \
        --portal "$ECERT_SOURCE/gateway/portal" >"$T/gateway.log" 2>&1 8>&- 9>&- &
    echo $! >"$ECERT_DEVNET_DIR/run/portal-gateway.pid" # stop_all stops it with the devnet
    base_url=http://127.0.0.1:$gw_port
fi
wait_for 20 curl -fsS "$base_url/healthz" || {
    cat "$T/gateway.log" "$ECERT_DEVNET_DIR/logs/gateway.log" >&2 2>/dev/null || true
    fail "the gateway did not answer on $base_url"
}
say "gateway at $base_url"

artifacts=$ECERT_BUILD/portal-artifacts
rm -rf "$artifacts"
mkdir -p "$artifacts"
json_str() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
cat >"$T/fixture.json" <<EOF
{
  "base_url": "$base_url",
  "artifacts": "$artifacts",
  "main_chain_id": "$(sed -n 's/^chain_id: *//p' "$ECERT_DEVNET_DIR/main/genesis.yaml")",
  "main_genesis_hash": "$main_hash",
  "main_genesis": "$ECERT_DEVNET_DIR/main/genesis.yaml",
  "cert_type": "$CERT_TYPE",
  "cert_id": "$CERT_TX",
  "revoked_cert": "$revoked_tx",
  "holder": "$CITIZEN",
  "org_code": "$UNIV_ORG",
  "inspect_org": "$INSP_ORG",
  "verifier": "$INSPECTOR",
  "bundle": "$BUNDLE",
  "bundle_qr": "$T/bundle.png",
  "revoked_bundle": "$T/revoked.bundle",
  "status_list": "$T/after-revoke.status",
  "presentation": "$T/demo/presentation.bin",
  "request": "$T/request.bin",
  "key_file": "$CITIZEN_KEY",
  "passphrase": $(json_str "$ECERT_PASSPHRASE"),
  "fields": {"name": "Li Hua ${UNIV_ORG#*-}", "degree": "Bachelor of Engineering"},
  "ecert": "$ECERT_BUILD/client/ecert",
  "ecert_config": "$ECERT_CONFIG",
  "work": "$T"
}
EOF

say "browser tests (Chromium, headless)"
tests=()
for t in "$ECERT_SOURCE"/tests/browser/*.mjs; do
    [ "$(basename "$t")" = run.mjs ] || tests+=("$t")
done
node "$ECERT_SOURCE/tests/browser/run.mjs" "$T/fixture.json" "${tests[@]}" >"$T/browser.log" 2>&1 || {
    cat "$T/browser.log" >&2
    tail -n 20 "$T/gateway.log" "$ECERT_DEVNET_DIR/logs/gateway.log" >&2 2>/dev/null || true
    fail "browser tests failed (screenshots in $artifacts)"
}
sed 's/^/  /' "$T/browser.log"

say "the verification library's unit tests (node --test)"
node --test "$ECERT_SOURCE/tests/js/ecert_lib.test.mjs" >"$T/node.log" 2>&1 || {
    cat "$T/node.log" >&2
    fail "tests/js/ecert_lib.test.mjs failed"
}
grep -E '^# (pass|fail)' "$T/node.log" | sed 's/^/  /'
say "screenshots: $artifacts"
pass
