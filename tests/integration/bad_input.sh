#!/usr/bin/env bash
# bad_input: a raw client (ec_probe, written from docs/PROTOCOL.md) sends malformed msgpack,
# non-canonical encodings, wrong types, an oversized frame, unknown methods, a wrong chain
# id, bad signatures, a replay and unauthorized transactions to the main chain and to a side
# chain; each must get its status code and both nodes must keep serving. The client must
# refuse bad usage (exit 2) and bad files (exit 1) without crashing.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up"
devnet_up
main=$(main_rpc)
side=$(side_rpc degree)
holder=$(ecert account address --key "$ECERT_DEVNET_DIR/keys/operator.key" |
    grep -oE 'ec1[02-9ac-hj-np-z]{6,}' | head -n 1)
[ -n "$holder" ] || fail "could not read an address from the operator key"

say "probing the main chain at $main"
probe attack "$main" || fail "main chain: some bad input got the wrong answer (above)"
say "probing the degree side chain at $side"
probe attack "$side" --holder "$holder" ||
    fail "side chain: some bad input got the wrong answer (above)"

say "every daemon still runs and answers"
for n in main side-degree side-marriage anchord; do
    alive "$(pid_of "$n")" || fail "$n died during the probe"
done
ecert chain status >/dev/null || fail "main chain does not answer the client"
ecert chain status --type degree >/dev/null || fail "degree chain does not answer the client"

say "the client refuses bad usage and bad files"
expect_rc() { # wanted-status description command...
    local want=$1 what=$2 rc=0
    shift 2
    "$@" >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exit status $rc, want $want"
}
expect_rc 2 "unknown command" ecert no-such-command
expect_rc 2 "unknown option" ecert chain status --no-such-option
expect_rc 2 "cert get without --tx" ecert cert get --type degree --holder "$holder" --height 1
expect_rc 2 "malformed tx hash" ecert cert get --type degree --holder "$holder" --height 1 \
    --tx xyz
head -c 3000 /dev/urandom >"$T/random.bundle"
expect_rc 1 "verify of random bytes" ecert verify --bundle "$T/random.bundle" \
    --main-genesis "$ECERT_DEVNET_DIR/main/genesis.yaml"
: >"$T/empty.bundle"
expect_rc 1 "verify of an empty file" ecert verify --bundle "$T/empty.bundle" \
    --main-genesis "$ECERT_DEVNET_DIR/main/genesis.yaml"
expect_rc 1 "verify of a missing file" ecert verify --bundle "$T/none.bundle" \
    --main-genesis "$ECERT_DEVNET_DIR/main/genesis.yaml"
load_passphrase
expect_rc 1 "issue without the issuer role" ecert cert issue \
    --key "$ECERT_DEVNET_DIR/keys/operator.key" --type degree --holder "$holder" \
    --org NOPE --field a=b
ECERT_PASSPHRASE=wrong expect_rc 1 "wrong passphrase" ecert org register \
    --key "$ECERT_DEVNET_DIR/keys/operator.key" --code X --name Y

# A key file others may read is refused, and the error itself (human and --json: a log
# line apart from it was lost under --json) says the mode and the chmod that fixes it.
cp "$ECERT_DEVNET_DIR/keys/operator.key" "$T/open.key"
chmod 644 "$T/open.key"
want="key file $T/open.key has mode 0644: group or others may read or change it; run: chmod 600 $T/open.key"
for cmd in "account address" "org register --code X --name Y"; do
    # shellcheck disable=SC2086 # $cmd is a command and its options, split on purpose
    err=$(ecert $cmd --key "$T/open.key" 2>&1 >/dev/null) && fail "$cmd: open key file accepted"
    [ "$err" = "ecert: $want" ] || fail "$cmd: error '$err', want 'ecert: $want'"
    # shellcheck disable=SC2086
    out=$(ecert $cmd --key "$T/open.key" --json 2>/dev/null) && fail "$cmd --json: accepted"
    [ "$(json_field message "$out")" = "$want" ] || fail "$cmd --json: error $out"
done
pass
