#!/usr/bin/env bash
# evidence: evidence deposits end to end on a devnet (the degree side chain).
# - An account deposits a batch of files (small, empty, and one big enough to be read in
#   pieces) with a note; the receipt is kept in a private folder; the same batch again is
#   refused, saying when it was deposited; a batch of one file works too.
# - `evidence proof` finds a file's batch through the receipts and writes its bundle; a file
#   never deposited, or changed since, has none.
# - With every daemon stopped, `evidence verify` checks the bundle offline against the main
#   genesis and prints the depositor, time, chains and note; a changed file, another file,
#   a changed byte of the bundle, another main genesis fail with exit 1, naming the check.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up"
devnet_up
load_passphrase

# expect_refused CODE TEXT LOG command...: the command fails with CODE and says TEXT (give
# ecert --json: its error object names the code of a local failure too).
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
# expect_exit CODE LOG command...: the command exits with CODE.
expect_exit() {
    local want=$1 log=$T/$2 rc=0
    shift 2
    "$@" >"$log" 2>&1 || rc=$?
    [ "$rc" -eq "$want" ] || {
        cat "$log" >&2
        fail "'$*' exited $rc, want $want"
    }
}

say "an account and the files to deposit"
key=$T/depositor.key
run_logged account.log "making the depositor's account" ecert account new --name "depositor-$$" \
    --out "$key"
depositor=$(ecert account address --key "$key" | grep -oE 'ec1[0-9a-z]+' | head -n 1)
[ -n "$depositor" ] || fail "no address for the depositor's key"
files=$T/files
receipts=$T/receipts
mkdir -p "$files"
printf 'Contract 2026-17 between A and B, signed %s\n' "$$" >"$files/contract.txt"
head -c 300000 /dev/urandom >"$files/invoice.pdf"
: >"$files/empty.txt"
for i in 1 2 3 4 5; do printf 'receipt %s of %s\n' "$i" "$$" >"$files/r$i.txt"; done

say "evidence put: one batch of 8 files, a receipt in a private folder"
expect_exit 2 nokey.log ecert evidence put --type degree --receipts "$receipts" "$files/r1.txt"
expect_exit 2 badnote.log ecert --key "$key" evidence put --type degree --note $'bell\a' \
    --receipts "$receipts" "$files/r1.txt"
grep -q "control characters" "$T/badnote.log" || fail "a bad note is not explained"
expect_refused ENOTFOUND "nothing of this batch was deposited" missing.log ecert --json --key "$key" \
    evidence put --type degree --receipts "$receipts" "$files/r1.txt" "$files/none.txt"
[ ! -e "$receipts" ] || [ -z "$(ls -A "$receipts")" ] || fail "a failed put left a receipt"
batch=("$files/contract.txt" "$files/invoice.pdf" "$files/empty.txt" "$files"/r[1-5].txt)
out=$(ecert --json --key "$key" evidence put --type degree --note "contract 2026-17" \
    --receipts "$receipts" "${batch[@]}") || fail "evidence put failed: $out"
[ "$(jq -r '.files' <<<"$out")" = 8 ] || fail "put does not count 8 files: $out"
[ "$(jq -r '.depositor' <<<"$out")" = "$depositor" ] || fail "put names another depositor: $out"
[ "$(jq -r '.batches | length' <<<"$out")" = 1 ] || fail "put made other than one batch: $out"
root=$(jq -r '.batches[0].root' <<<"$out")
height=$(jq -r '.batches[0].height' <<<"$out")
[ "$(jq -r '.batches[0].count' <<<"$out")" = 8 ] || fail "the batch does not hold 8 files: $out"
[ -f "$receipts/$root.receipt" ] || fail "no receipt $receipts/$root.receipt"
[ "$(stat -c %a "$receipts")" = 700 ] || fail "the receipts folder is not private"

say "the same batch again is refused, saying when it was deposited"
expect_refused EEXIST "already, at height $height" again.log ecert --json --key "$key" \
    evidence put --type degree --receipts "$receipts" "${batch[@]}"
say "a batch of one file"
printf 'a lone file %s\n' "$$" >"$files/lone.txt"
run_logged lone.log "depositing one file failed" ecert --key "$key" evidence put --type degree \
    --receipts "$receipts" "$files/lone.txt"
grep -q "committed at height" "$T/lone.log" || fail "put does not say where it committed"

say "evidence proof: found through the receipts, or not at all"
out=$(ecert --json evidence proof "$files/invoice.pdf" --out "$T/invoice.evidence" \
    --receipts "$receipts" --wait-ms 30000) || fail "evidence proof failed: $out"
[ "$(jq -r '.root' <<<"$out")" = "$root" ] || fail "the proof is of another batch: $out"
[ "$(jq -r '.index' <<<"$out")" = 1 ] || fail "invoice.pdf is not file 1 of its batch: $out"
[ -s "$T/invoice.evidence" ] || fail "no bundle written"
run_logged proof_empty.log "the proof of the empty file failed" ecert evidence proof \
    "$files/empty.txt" --out "$T/empty.evidence" --receipts "$receipts" --type degree \
    --wait-ms 30000
run_logged proof_lone.log "the proof of the lone file failed" ecert evidence proof \
    "$files/lone.txt" --out "$T/lone.evidence" --receipts "$receipts" --wait-ms 30000
printf 'never deposited\n' >"$T/never.txt"
expect_refused ENOTFOUND "in no receipt" never.log ecert --json evidence proof "$T/never.txt" \
    --out "$T/never.evidence" --receipts "$receipts"
cp "$files/contract.txt" "$T/changed.txt"
printf 'x' >>"$T/changed.txt"
expect_refused ENOTFOUND "or it changed since" changed_proof.log ecert --json evidence proof \
    "$T/changed.txt" --out "$T/changed.evidence" --receipts "$receipts"
expect_refused ENOTFOUND "in no receipt" othertype.log ecert --json evidence proof "$files/r1.txt" \
    --out "$T/r1.evidence" --receipts "$receipts" --type marriage
genesis=$ECERT_DEVNET_DIR/main/genesis.yaml

say "every daemon stopped: evidence verify is offline"
stop_all
out=$(ecert --json evidence verify "$files/invoice.pdf" "$T/invoice.evidence" \
    --main-genesis "$genesis") || fail "evidence verify failed: $out"
[ "$(jq -r '.verified' <<<"$out")" = true ] || fail "not verified: $out"
[ "$(jq -r '.depositor' <<<"$out")" = "$depositor" ] || fail "another depositor: $out"
[ "$(jq -r '.note' <<<"$out")" = "contract 2026-17" ] || fail "the note is lost: $out"
[ "$(jq -r '.side_height' <<<"$out")" = "$height" ] || fail "another height: $out"
[ "$(jq -r '.side_chain_id' <<<"$out")" = ecert-degree-dev ] || fail "another chain: $out"
[ "$(jq -r '.sha256' <<<"$out")" = "$(sha256sum "$files/invoice.pdf" | cut -d' ' -f1)" ] ||
    fail "the hash is not the file's SHA-256: $out"
time_ms=$(jq -r '.time_ms' <<<"$out")
now_ms=$(($(date +%s) * 1000))
[ "$time_ms" -gt $((now_ms - 600000)) ] && [ "$time_ms" -le "$now_ms" ] ||
    fail "the deposit time $time_ms is not of this run (now $now_ms)"
ecert evidence verify "$files/empty.txt" "$T/empty.evidence" >"$T/verify_empty.log" 2>&1 || {
    cat "$T/verify_empty.log" >&2
    fail "the empty file does not verify (main genesis from the config)"
}
grep -q "VERIFIED" "$T/verify_empty.log" || fail "no verdict printed"
grep -q "depositor     $depositor" "$T/verify_empty.log" || fail "no depositor printed"
run_logged verify_lone.log "the lone file does not verify" ecert evidence verify \
    "$files/lone.txt" "$T/lone.evidence"
grep -q "file 1 of 1" "$T/verify_lone.log" || fail "the lone file is not file 1 of 1"

say "a changed file, another file, a changed bundle, another main chain: refused"
cp "$files/invoice.pdf" "$T/invoice-changed.pdf"
printf '\x00' | dd of="$T/invoice-changed.pdf" bs=1 seek=150000 conv=notrunc status=none
cmp -s "$files/invoice.pdf" "$T/invoice-changed.pdf" && printf '\x01' |
    dd of="$T/invoice-changed.pdf" bs=1 seek=150000 conv=notrunc status=none
expect_refused EPROOF "does NOT match the evidence" verify_changed.log ecert --json evidence verify \
    "$T/invoice-changed.pdf" "$T/invoice.evidence"
grep -q "the file changed" "$T/verify_changed.log" || fail "a changed file is not named"
expect_refused EPROOF "file: its SHA-256" verify_other.log ecert --json evidence verify \
    "$files/contract.txt" "$T/invoice.evidence"
size=$(stat -c %s "$T/invoice.evidence")
for at in 40 $((size / 2)) $((size - 3)); do
    cp "$T/invoice.evidence" "$T/tampered.evidence"
    byte=$(od -An -tu1 -j "$at" -N1 "$T/tampered.evidence" | tr -d ' ')
    printf "\\$(printf '%03o' $(((byte + 1) % 256)))" |
        dd of="$T/tampered.evidence" bs=1 seek="$at" conv=notrunc status=none
    expect_exit 1 tampered.log ecert evidence verify "$files/invoice.pdf" "$T/tampered.evidence"
    grep -q "does NOT match the evidence" "$T/tampered.log" || fail "byte $at: no clear message"
done
# The same main chain id with other validators: their commit is not in the bundle.
run_logged other_genesis.log "another main genesis" ecert genesis main --chain-id ecert-main-dev \
    --validator-key "$ECERT_DEVNET_DIR/keys/operator.key" --operator-key \
    "$ECERT_DEVNET_DIR/keys/operator.key" --out "$T/other-genesis.yaml"
expect_refused ESIG "main commit: does not verify" verify_genesis.log ecert --json evidence \
    verify "$files/invoice.pdf" "$T/invoice.evidence" --main-genesis "$T/other-genesis.yaml"
expect_exit 2 verify_args.log ecert evidence verify "$files/invoice.pdf"
pass
