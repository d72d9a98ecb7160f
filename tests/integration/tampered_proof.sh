#!/usr/bin/env bash
# tampered_proof: a real proof bundle verifies; the same bundle with any one byte changed
# (every position, or an even spread when the bundle is large), truncated, extended, or
# checked against another main chain, must not. A failure must be a clean "no" (exit 1),
# never a crash. The same bundle fetched as a QR code PNG verifies too, and a PNG without
# a QR code (or a file that is no PNG) is a clean "no".
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up + demo"
devnet_up_with_demo
genesis=$ECERT_DEVNET_DIR/main/genesis.yaml

verify() { # bundle [more args] -> the client's exit status
    local rc=0
    ecert verify --bundle "$1" --main-genesis "$genesis" >/dev/null 2>&1 || rc=$?
    return "$rc"
}
verify "$BUNDLE" || fail "the untouched bundle does not verify"

say "the bundle as a QR code PNG (cert proof --qr, verify --qr)"
ecert cert proof --type "$CERT_TYPE" --tx "$CERT_TX" --qr "$T/bundle.png" >/dev/null ||
    fail "cert proof --qr failed"
ecert verify --qr "$T/bundle.png" --main-genesis "$genesis" >"$T/qr.out" 2>&1 || {
    cat "$T/qr.out" >&2
    fail "the bundle read back from its QR code does not verify"
}
grep -q "$CERT_TX" "$T/qr.out" || fail "verify --qr does not name the certificate's transaction"
expect_qr_error() { # what png message: verify --qr must exit 1 with that message
    local rc=0
    ecert verify --qr "$2" --main-genesis "$genesis" >/dev/null 2>"$T/qr.err" || rc=$?
    [ "$rc" -eq 1 ] || fail "$1: verify --qr exited $rc, want 1"
    grep -q "$3" "$T/qr.err" || fail "$1: no '$3' in: $(cat "$T/qr.err")"
}
# A blank white 64x64 grayscale PNG: a valid image without a QR code.
base64 -d >"$T/blank.png" <<'EOF_PNG'
iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAAAAACPAi4CAAAAKUlEQVR42u3MQREAAAwCIPuX1hD77SAA6VEEAoFAIBAIBAKBQCAQfA8Gpwvw4qrwDDIAAAAASUVORK5CYII=
EOF_PNG
expect_qr_error "blank PNG" "$T/blank.png" "no QR code found"
expect_qr_error "not a PNG" "$BUNDLE" "not a readable PNG"
rc=0
ecert verify --qr "$T/bundle.png" --bundle "$BUNDLE" --main-genesis "$genesis" \
    >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "verify with both --qr and --bundle: exit $rc, want 2 (usage)"
size=$(wc -c <"$BUNDLE")
say "bundle of $size bytes verifies; now changing one byte at a time"

# Positions: all of them up to 4096 bytes, else 4096 spread evenly. Two workers (one per
# core), each on its own copy, take every other position.
step=$(((size + 4095) / 4096))
mapfile -t bytes < <(od -An -v -tu1 -w1 "$BUNDLE" | tr -d ' ')
put_byte() { # file position value: writes one byte into file in place
    printf '%b' "\\x$(printf %02x "$3")" | dd of="$1" bs=1 seek="$2" count=1 conv=notrunc \
        status=none
}
tamper_worker() { # first: checks positions first, first + 2 * step, ...; prints the count
    local work=$T/tampered-$1.bundle i orig new rc n=0
    cp "$BUNDLE" "$work"
    for ((i = $1 * step; i < size; i += 2 * step)); do
        orig=${bytes[$i]}
        new=$(((orig ^ (i % 2 == 0 ? 0x01 : 0xff)) & 0xff))
        put_byte "$work" "$i" "$new"
        rc=0
        verify "$work" || rc=$?
        if [ "$rc" -eq 0 ]; then
            echo "byte $i changed ($orig -> $new) and the bundle still verifies" >&2
            return 1
        elif [ "$rc" -ne 1 ]; then
            echo "byte $i changed: verify exited $rc (a crash?) instead of 1" >&2
            return 1
        fi
        put_byte "$work" "$i" "$orig"
        n=$((n + 1))
    done
    cmp -s "$work" "$BUNDLE" || {
        echo "the test did not restore the bundle (test bug)" >&2
        return 1
    }
    echo "$n"
}
tamper_worker 0 >"$T/tamper0.out" 2>"$T/tamper0.err" &
w0=$!
tamper_worker 1 >"$T/tamper1.out" 2>"$T/tamper1.err" &
w1=$!
rc0=0 rc1=0
wait "$w0" || rc0=$?
wait "$w1" || rc1=$?
[ "$rc0" -eq 0 ] || fail "$(cat "$T/tamper0.err")"
[ "$rc1" -eq 0 ] || fail "$(cat "$T/tamper1.err")"
checked=$(($(cat "$T/tamper0.out") + $(cat "$T/tamper1.out")))
[ "$checked" -eq $(((size + step - 1) / step)) ] || fail "checked $checked positions (test bug)"
say "$checked one-byte changes all rejected"

expect_reject() { # what bundle
    local rc=0
    verify "$2" || rc=$?
    [ "$rc" -eq 1 ] || fail "$1: verify exited $rc, want 1"
}
head -c $((size - 1)) "$BUNDLE" >"$T/short.bundle"
expect_reject "truncated by one byte" "$T/short.bundle"
head -c $((size / 2)) "$BUNDLE" >"$T/half.bundle"
expect_reject "cut in half" "$T/half.bundle"
{ cat "$BUNDLE"; printf '\0'; } >"$T/long.bundle"
expect_reject "one byte appended" "$T/long.bundle"

say "against another main chain (same chain id, other validator)"
load_passphrase
ecert account new --offline --name other-validator --out "$T/other-validator.key" >/dev/null
ecert genesis main --chain-id ecert-main-dev --validator-key "$T/other-validator.key" \
    --operator-key "$T/other-validator.key" --out "$T/other-genesis.yaml" >/dev/null ||
    fail "could not write another genesis"
rc=0
ecert verify --bundle "$BUNDLE" --main-genesis "$T/other-genesis.yaml" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "bundle checked against another main chain: exit $rc, want 1"
verify "$BUNDLE" || fail "the original bundle stopped verifying (test bug?)"
pass
