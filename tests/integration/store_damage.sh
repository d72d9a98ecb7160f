#!/usr/bin/env bash
# store_damage: a node never serves from a store that lost committed data, and `--check`
# finds damage before anyone reads it. The main chain commits a few hundred blocks, is
# frozen with SIGSTOP and its data folder copied; in one copy 16 bytes a third of the way
# into RocksDB's write-ahead log are overwritten, another copy has its log cut to half.
# A node started on either copy must refuse to start (the guard record says more was
# committed) and say how to recover; `--check` must report the fault and exit 1. After a
# clean stop (memtables flushed into table files), a flipped byte in a table file must be
# found by `--check`, and the sound store must pass it. A SIGTERM that arrives while a
# daemon is still starting must end it with exit 0.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
use_small_devnet

say "devnet up"
devnet_up
bench=$ECERT_BUILD/client/ecert-bench
mainchaind=$ECERT_BUILD/mainchain/mainchaind
data=$ECERT_DEVNET_DIR/main/data

say "a few hundred main-chain blocks (accounts registered at a steady rate)"
"$bench" --devnet "$ECERT_DEVNET_DIR" --workload register --count 1200 --rate 400 --json \
    --quiet >"$T/register.json" || fail "ecert-bench register failed: $(cat "$T/register.json")"
tip=$(height "$(main_rpc)")
[ "$tip" -ge 100 ] || fail "only $tip main-chain blocks"

say "copies of the data folder taken while the node is stopped with SIGSTOP (tip $tip)"
pid=$(pid_of main)
kill -STOP "$pid"
for c in wal-bytes wal-half table; do
    cp -a "$data" "$T/$c"
done
kill -CONT "$pid"

# A node config for a copy: the devnet's, with the copy as data folder and other ports, and
# no metrics server (the devnet's node holds that port).
copy_config() { # NAME -> path of the config
    local cfg=$ECERT_DEVNET_DIR/main/node-$1.yaml
    sed -e "s|^data_dir:.*|data_dir: $T/$1|" -e '/^metrics:/d' \
        -e "s|^rpc:.*|rpc: tcp://127.0.0.1:$((ECERT_PORT_BASE + 230))|" \
        -e "s|^pub:.*|pub: tcp://127.0.0.1:$((ECERT_PORT_BASE + 231))|" \
        "$ECERT_DEVNET_DIR/main/node.yaml" >"$cfg"
    echo "$cfg"
}
newest_wal() { # FOLDER -> its newest RocksDB write-ahead log
    find "$1" -maxdepth 1 -name '*.log' -size +0 -printf '%T@ %p\n' | sort -n | tail -n 1 |
        cut -d' ' -f2
}

# Starts mainchaind on a copy and expects it to refuse within 20 s, exit non-zero and
# name the loss. A node that starts and serves fails the test.
expect_refusal() { # NAME
    local cfg rc=0
    cfg=$(copy_config "$1")
    timeout 20 "$mainchaind" --config "$cfg" >"$T/$1.out" 2>&1 8>&- 9>&- || rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
        fail "$1: the node started on a store that lost blocks (exit $rc): $(tail -n 3 "$T/$1.out")"
    grep -q "lost committed blocks" "$T/$1.out" ||
        fail "$1: the refusal does not say what was lost: $(cat "$T/$1.out")"
    grep -q "Restore the folder from a copy that reaches height" "$T/$1.out" ||
        fail "$1: the refusal does not say how to recover"
}
expect_check_fault() { # NAME WHAT
    local cfg rc=0
    cfg=$(copy_config "$1")
    "$mainchaind" --config "$cfg" --check >"$T/$1.check" 2>&1 8>&- 9>&- || rc=$?
    [ "$rc" -eq 1 ] || fail "$1: --check exit $rc, want 1: $(cat "$T/$1.check")"
    grep -q "^FAULT: .*$2" "$T/$1.check" ||
        fail "$1: --check does not report '$2': $(cat "$T/$1.check")"
}

say "16 bytes overwritten a third of the way into the write-ahead log"
wal=$(newest_wal "$T/wal-bytes")
[ -n "$wal" ] || fail "no write-ahead log in the copy"
size=$(stat -c %s "$wal")
printf 'DAMAGEDDAMAGEDDA' | dd of="$wal" bs=1 seek=$((size / 3)) conv=notrunc status=none
expect_refusal wal-bytes
expect_check_fault wal-bytes "lost"

say "write-ahead log cut to half its size"
wal=$(newest_wal "$T/wal-half")
truncate -s $(($(stat -c %s "$wal") / 2)) "$wal"
expect_refusal wal-half
expect_check_fault wal-half "lost"

say "clean stop: the store passes --check"
devnet down >/dev/null
"$mainchaind" --config "$ECERT_DEVNET_DIR/main/node.yaml" --check >"$T/sound.check" 2>&1 8>&- 9>&- ||
    fail "--check refused the sound store: $(cat "$T/sound.check")"
grep -q "^store OK" "$T/sound.check" || fail "--check did not say OK: $(cat "$T/sound.check")"
grep -q "blocks: 1\.\." "$T/sound.check" || fail "--check did not report the blocks it read"

say "one byte flipped in a table file is found by --check"
rm -rf "$T/table"
cp -a "$data" "$T/table"
sst=$(find "$T/table" -maxdepth 1 -name '*.sst' -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2)
[ -n "$sst" ] || fail "no table file after a clean stop"
off=$(($(stat -c %s "$sst") / 3))
byte=$(od -An -tu1 -j "$off" -N1 "$sst" | tr -d ' ')
printf "\\$(printf '%03o' $(((byte + 1) % 256)))" | dd of="$sst" bs=1 seek="$off" conv=notrunc status=none
expect_check_fault table "block checksum mismatch\|[Cc]orrupt"

say "a SIGTERM while the daemon is still starting ends it with exit 0"
fifo=$T/slow.pass
mkfifo -m 600 "$fifo"
cfg=$ECERT_DEVNET_DIR/main/node-slow.yaml
sed -e "s|^passphrase_file:.*|passphrase_file: $fifo|" -e '/^metrics:/d' \
    "$ECERT_DEVNET_DIR/main/node.yaml" >"$cfg"
"$mainchaind" --config "$cfg" >"$T/slow.out" 2>&1 8>&- 9>&- &
slow=$!
sleep 0.5 # it now waits in open() of the passphrase FIFO
kill -TERM "$slow"
head -n 1 "$ECERT_DEVNET_DIR/passphrase" >"$fifo"
rc=0
wait "$slow" || rc=$?
[ "$rc" -eq 0 ] || fail "SIGTERM during start-up: exit $rc, want 0: $(tail -n 5 "$T/slow.out")"
pass
