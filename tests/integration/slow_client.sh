#!/usr/bin/env bash
# slow_client: a client that never reads its replies cannot take the node's memory. A
# certificate with a payload of about 56 KB is issued; then one connection (ec_flood.c)
# asks for that transaction 12,000 times without reading a reply (about 670 MB of
# answers) and holds the connection. While it does, the side chain must keep serving
# other clients, and its resident memory must stay within 64 MB of what it was before
# (docs/OPERATIONS.md: 8 MiB of unread replies per connection, plus RocksDB's 32 MB block
# cache that the reads fill); after the client leaves, the node must give memory back.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up + demo (roles, attestation)"
devnet_up_with_demo
load_passphrase
side=$(side_rpc degree)
flood=$ECERT_BUILD/tests/integration/ec_flood

say "a certificate with a payload of about 56 KB"
fields=()
for i in $(seq 14); do
    fields+=(--field "blob$i=$(head -c 3000 /dev/urandom | base64 -w0)")
done
out=$(ecert --json cert issue --key "$AGENCY_KEY" --type degree --holder "$CITIZEN" \
    --org "$UNIV_ORG" "${fields[@]}") || fail "issuing the big certificate failed"
tx=$(json_field tx "$out")
[ -n "$tx" ] || fail "no tx id in: $out"

pid=$(pid_of side-degree)
rss() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$pid/status"; }
before=$(rss)
say "side chain resident: $before MB; one connection asks 12,000 times and never reads"
"$flood" "$side" "$tx" 12000 8 >"$T/flood.out" 2>&1 &
flood_pid=$!
peak=$before
served=0
for _ in $(seq 14); do
    sleep 0.5
    now=$(rss)
    [ "$now" -le "$peak" ] || peak=$now
    if ecert --timeout-ms 3000 chain status --type degree >/dev/null 2>&1; then
        served=$((served + 1))
    fi
done
wait "$flood_pid" || fail "ec_flood failed: $(cat "$T/flood.out")"
say "peak resident while flooded: $peak MB; other client served $served of 14 times"
[ "$served" -ge 12 ] || fail "other clients were not served while one client flooded"
[ $((peak - before)) -le 64 ] ||
    fail "a client that does not read grew the node from $before to $peak MB"

say "after the client left, the memory goes back"
sleep 3
after=$(rss)
say "resident after: $after MB"
[ $((after - before)) -le 48 ] || fail "the node kept $((after - before)) MB after the client left"
ecert chain status --type degree >/dev/null || fail "the side chain stopped answering"
pass
