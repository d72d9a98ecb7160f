#!/usr/bin/env bash
# wal_sync: an acknowledged block is on stable storage before its submitter hears of it.
# A SIGKILL keeps the kernel's page cache, so restart_kill9 cannot tell a synced block from
# one that is merely written; a power cut could. Here the main chain runs alone under an
# LD_PRELOAD shim (walshim.c) that watches RocksDB's write-ahead log and counts every
# socket send that leaves while the log holds bytes not yet fsync'ed. One client registers
# accounts one at a time, waiting for each reply, so every reply must find the log synced:
# unsynced_sends must be 0, and there must have been at least one log sync per reply.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet created, then stopped: the main chain runs alone under the shim"
devnet_up
devnet down >/dev/null
shim=$ECERT_BUILD/tests/integration/libwalshim.so
[ -f "$shim" ] || fail "no shim at $shim"
report=$T/shim.txt
ECERT_SHIM_DIR=$ECERT_DEVNET_DIR/main/data ECERT_SHIM_REPORT=$report LD_PRELOAD=$shim \
    "$ECERT_BUILD/mainchain/mainchaind" --config "$ECERT_DEVNET_DIR/main/node.yaml" \
    >"$T/main.log" 2>&1 8>&- 9>&- &
main_pid=$!
echo "$main_pid" >"$ECERT_DEVNET_DIR/run/main.pid" # so the cleanup stops it
wait_for 20 ecert chain status --type main || fail "the main chain did not start: $(cat "$T/main.log")"

load_passphrase
n=25
say "$n registrations, one at a time"
for i in $(seq "$n"); do
    ecert --json account new --name "durable $i" --out "$T/k$i.key" >"$T/reg$i.json" ||
        fail "registration $i failed: $(cat "$T/reg$i.json")"
done
kill -KILL "$main_pid"
wait "$main_pid" 2>/dev/null || true
[ -s "$report" ] || fail "the shim wrote no report"
say "shim: $(cat "$report")"
field() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$report"; }
[ "$(field unsynced_sends)" -eq 0 ] ||
    fail "$(field unsynced_sends) sends left while the write-ahead log held unsynced bytes"
[ "$(field wal_syncs)" -ge "$n" ] || fail "fewer log syncs ($(field wal_syncs)) than replies ($n)"
[ "$(field wal_writes)" -ge "$n" ] || fail "the shim saw too few log writes: $(cat "$report")"
[ "$(field sends)" -ge "$n" ] || fail "the shim saw too few sends: $(cat "$report")"
pass
