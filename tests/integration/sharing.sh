#!/usr/bin/env bash
# sharing: data shared between agencies through the share chain and a real odsd.
# - A health agency runs its ODS (odsd) and publishes a dataset: encrypted on its machine,
#   stored in the ODS by hash, listed in the directory (assets.lua) with its own access
#   contract (acl.lua).
# - A statistics agency finds it in the directory, is refused before a rule admits it
#   (the refusal is recorded), then, once the owner grants its organization for a
#   purpose, fetches and decrypts the dataset; an agency the rule does not name is
#   refused; a revoked rule admits nobody; every request is in the access log.
# - A stored file damaged on the ODS's disk is detected: the download fails and writes
#   nothing.
# - A 1 GiB file is published and fetched, the daemon's peak memory while serving (VmHWM,
#   reset once its key is decrypted) staying under 64 MiB; the rate is printed, not asserted.
# - A new version reaches a subscriber (`asset watch`, the share chain's PUB announcements).
# - Ownership moves to the statistics agency and the directory keeps who held it when.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cat >"$T/chains.yaml" <<'EOF'
sides:
  - {type: share, rpc: 7100, pub: 7101}
EOF
export ECERT_DEVNET_CHAINS=$T/chains.yaml

say "devnet up (main chain and a share chain)"
devnet_up
load_passphrase
export ECERT_CONFIG=$ECERT_DEVNET_DIR/client.yaml
operator=$ECERT_DEVNET_DIR/keys/operator.key

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
account() { # name -> key file $T/name.key; prints the address
    run_logged "acct-$1.log" "account $1" ecert account new --name "$1-$$" --out "$T/$1.key"
    ecert --json account address --key "$T/$1.key" | sed -n 's/.*"address": *"\([^"]*\)".*/\1/p'
}
grant() { # address role org
    run_logged "grant-$2-$3.log" "granting $2 of $3" ecert --key "$operator" role grant \
        --address "$1" --role "$2" --type share --org "$3"
}

say "agencies, organizations and roles"
HEALTH=$(account health)
STATS=$(account stats)
OTHER=$(account other)
REGISTRY=$(account registry)
ODS_KEY_ADDR=$(account ods)
for org in "HEALTH-$$" "STATS-$$" "OTHER-$$" "DATA-$$"; do
    run_logged "org-$org.log" "org $org" ecert --key "$operator" org register --code "$org" \
        --name "Agency $org"
done
grant "$REGISTRY" deployer "DATA-$$"
grant "$HEALTH" issuer "HEALTH-$$"
grant "$HEALTH" deployer "HEALTH-$$"
grant "$STATS" issuer "STATS-$$"
grant "$OTHER" issuer "OTHER-$$"
init() { ecert --key "$T/registry.key" asset init --org "DATA-$$" >"$T/init.log" 2>&1; }
wait_for 30 init || {
    cat "$T/init.log" >&2
    fail "the directory could not be deployed"
}

say "the health agency's ODS"
ods_port=$((ECERT_PORT_BASE + 230))
ods=tcp://127.0.0.1:$ods_port
health_pk=$(ecert --json account address --key "$T/health.key" | sed -n 's/.*"pk": *"\([0-9a-f]*\)".*/\1/p')
[ -n "$health_pk" ] || fail "no public key for the health agency"
cat >"$T/odsd.yaml" <<EOF
listen: $ods
dir: $T/ods
key_file: $T/ods.key
passphrase_file: $ECERT_DEVNET_DIR/passphrase
client_config: $ECERT_CONFIG
share_type: share
uploaders: ["$health_pk"]
EOF
env -u ECERT_PASSPHRASE "$ECERT_BUILD/ods/odsd" --config "$T/odsd.yaml" >"$T/odsd.log" 2>&1 8>&- 9>&- &
ods_pid=$!
echo "$ods_pid" >"$ECERT_DEVNET_DIR/run/odsd.pid" # stopped with the devnet
wait_for 10 port_busy "$ods_port" || {
    cat "$T/odsd.log" >&2
    fail "odsd did not start"
}
# The peak so far is the key's decryption (Argon2id, 64 MiB): measure serving from here.
echo 5 >"/proc/$ods_pid/clear_refs"

say "the health agency publishes a dataset"
printf 'district,age,count\nNorth,0-4,1204\nSouth,0-4,987\n' >"$T/vacc.csv"
out=$(ecert --json --key "$T/health.key" asset publish --org "HEALTH-$$" \
    --title "Vaccinations 2026 $$" --data-type structured --schema "csv: district,age,count" \
    --keyword vaccination --keyword children --file "$T/vacc.csv" --ods "$ods") ||
    fail "publish failed: $out"
id=$(json_field id "$out")
acl=$(json_field acl "$out")
[ -n "$id" ] && [ -n "$acl" ] || fail "publish gave no id or access contract: $out"
grep -q "green tea\|North,0-4" "$T"/ods/objects/*/* 2>/dev/null &&
    fail "the ODS stores the dataset in clear"

say "the directory; a refusal before any rule, recorded"
ecert --key "$T/stats.key" asset search --keyword vaccination >"$T/search.log" ||
    fail "search failed"
grep -q "^$id .*Vaccinations 2026 $$.*may request: no" "$T/search.log" || {
    cat "$T/search.log" >&2
    fail "the directory does not list the asset as not requestable yet"
}
expect_refused EPERM "refused by $acl" early.log ecert --json --key "$T/stats.key" asset get "$id" \
    --out "$T/got.csv" --purpose statistics
[ ! -e "$T/got.csv" ] || fail "a refused request left a file"

say "a grant to the statistics organization for a purpose"
run_logged acl.log "acl grant failed" ecert --key "$T/health.key" acl grant "$id" \
    --org "STATS-$$" --purpose statistics
expect_refused ECONTRACT "only the owner" acl_other.log ecert --json --key "$T/stats.key" acl grant \
    "$id" --org "OTHER-$$"
expect_refused EPERM "for statistics only" wrong_purpose.log ecert --json --key "$T/stats.key" asset \
    get "$id" --out "$T/got.csv" --purpose marketing
run_logged get.log "the granted download failed" ecert --key "$T/stats.key" asset get "$id" \
    --out "$T/got.csv" --purpose statistics
cmp -s "$T/got.csv" "$T/vacc.csv" || fail "what was fetched is not the dataset"
expect_refused EPERM "not of STATS-$$" other.log ecert --json --key "$T/other.key" asset get "$id" \
    --out "$T/other.csv" --purpose statistics
ecert --key "$T/stats.key" asset search --keyword vaccination --purpose statistics \
    >"$T/search2.log" || fail "search failed"
grep -q "may request: yes" "$T/search2.log" || fail "the directory does not say yes now"

say "a damaged stored file is detected"
obj=$(find "$T/ods/objects" -type f | head -n 1)
[ -n "$obj" ] || fail "no object in the ODS store"
cp "$obj" "$T/obj.bak"
printf "X" | dd of="$obj" bs=1 seek=40 conv=notrunc 2>/dev/null
expect_refused ECRYPTO "damaged" tampered.log ecert --json --key "$T/stats.key" asset get "$id" \
    --out "$T/bad.csv" --purpose statistics
[ ! -e "$T/bad.csv" ] || fail "a damaged download left a file"

say "revoked: nobody is admitted"
run_logged revoke.log "acl revoke failed" ecert --key "$T/health.key" acl revoke "$id" --rule 1
expect_refused EPERM "revoked" revoked.log ecert --json --key "$T/stats.key" asset get "$id" \
    --out "$T/late.csv" --purpose statistics
ecert --json access log "$id" >"$T/log.json" || fail "access log failed"
[ "$(grep -o '"granted":true' "$T/log.json" | wc -l)" -ge 2 ] ||
    fail "the access log lacks the granted requests: $(cat "$T/log.json")"
[ "$(grep -o '"granted":false' "$T/log.json" | wc -l)" -ge 4 ] ||
    fail "the access log lacks the refused requests: $(cat "$T/log.json")"

say "a 1 GiB file through the ODS in bounded memory"
head -c $((1 << 30)) /dev/zero >"$T/big.bin"
out=$(ecert --json --key "$T/health.key" asset publish --org "HEALTH-$$" --title "Big $$" \
    --data-type unstructured --file "$T/big.bin" --ods "$ods") || fail "big publish failed: $out"
big=$(json_field id "$out")
run_logged big_acl.log "acl grant failed" ecert --key "$T/health.key" acl grant "$big" \
    --address "$STATS"
started=$(date +%s%N)
out=$(ecert --json --key "$T/stats.key" asset get "$big" --out "$T/big.out") ||
    fail "the big download failed: $out"
ms=$((($(date +%s%N) - started) / 1000000))
transfer_ms=$(json_field transfer_ms "$out")
cmp -s "$T/big.out" "$T/big.bin" || fail "the big file came back different"
alive "$ods_pid" || {
    tail -n 20 "$T/odsd.log" >&2
    fail "odsd is gone"
}
hwm=$(sed -n 's/^VmHWM:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$ods_pid/status")
[ -n "$hwm" ] || fail "no VmHWM in /proc/$ods_pid/status: $(head -n 20 "/proc/$ods_pid/status")"
say "1 GiB fetched in $ms ms, of which the transfer $transfer_ms ms ($((1024 * 1000 / (transfer_ms > 0 ? transfer_ms : 1))) MiB/s); odsd peak memory $((hwm / 1024)) MiB"
[ "$hwm" -lt $((64 * 1024)) ] || fail "odsd used $((hwm / 1024)) MiB at peak (bound: 64 MiB)"
rm -f "$T/big.bin" "$T/big.out"

say "a new version; a subscriber is told"
ecert asset watch --org "HEALTH-$$" --count 1 --wait-ms 30000 >"$T/watch.log" 2>&1 &
watch_pid=$!
sleep 1 # the subscription must be in place before the update's block
printf 'district,age,count\nNorth,0-4,1300\n' >"$T/vacc2.csv"
run_logged update.log "update failed" ecert --key "$T/health.key" asset update "$id" \
    --file "$T/vacc2.csv" --ods "$ods" --note "corrected counts"
wait "$watch_pid" || {
    cat "$T/watch.log" >&2
    fail "the subscriber was not told of the new version"
}
grep -q "updated .*\"id\":\"$id\".*\"version\":2" "$T/watch.log" || {
    cat "$T/watch.log" >&2
    fail "the subscriber got another change than the new version"
}

say "ownership moves to the statistics agency; the history keeps it"
run_logged transfer.log "transfer failed" ecert --key "$T/health.key" asset transfer "$id" \
    --to-org "STATS-$$"
expect_refused ECONTRACT "does not publish for STATS-$$" accept_other.log ecert --json \
    --key "$T/other.key" asset accept "$id"
run_logged accept.log "accept failed" ecert --key "$T/stats.key" asset accept "$id"
out=$(ecert --json asset show "$id") || fail "show failed"
grep -q "\"org\":\"STATS-$$\"" <<<"$out" || fail "the asset did not change hands: $out"
grep -q "\"org\":\"HEALTH-$$\"" <<<"$out" || fail "the history lost the first owner: $out"
pass
