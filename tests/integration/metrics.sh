#!/usr/bin/env bash
# metrics: every daemon's Prometheus metrics on a devnet (the main chain and the degree
# side chain), and the deploy/prometheus configuration and alert rules.
# - `devnet up --with-prometheus` prints each daemon's metrics URL and starts Prometheus;
#   every daemon's /metrics is valid text exposition (`promtool check metrics`), another
#   path is 404.
# - Values move: an account registered on the main chain raises its height and
#   ecert_txs_total{result="applied"}; the same name again is refused and counted by code;
#   an evidence deposit does the same on the side chain; anchord reports both chains up
#   and its lag per direction.
# - A daemon refuses a bad `metrics` address (config or --metrics) with exit 2.
# - promtool accepts the generated and the deploy/ prometheus.yml, and the alert rules'
#   unit tests pass; Prometheus scrapes every target; `down` stops it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cat >"$T/chains.yaml" <<'EOF'
sides:
  - {type: degree, rpc: 7100, pub: 7101}
EOF
export ECERT_DEVNET_CHAINS=$T/chains.yaml
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"

main_m=$((ECERT_PORT_BASE + 5))
side_m=$((ECERT_PORT_BASE + 105))
anchord_m=$((ECERT_PORT_BASE + 305))
prom=$((ECERT_PORT_BASE + 690))

say "devnet up --with-prometheus"
run_logged up.log "devnet up --with-prometheus failed" devnet up --with-prometheus
for url in "http://127.0.0.1:$main_m/metrics" "http://127.0.0.1:$side_m/metrics" \
    "http://127.0.0.1:$anchord_m/metrics" "http://127.0.0.1:$prom/"; do
    grep -qF "$url" "$T/up.log" || fail "devnet up does not print $url"
done
load_passphrase

# scrape NAME PORT: the daemon's metrics into $T/NAME.prom, checked by promtool.
scrape() {
    curl -fsS --max-time 5 "http://127.0.0.1:$2/metrics" >"$T/$1.prom" ||
        fail "no metrics from $1 on port $2"
    promtool check metrics <"$T/$1.prom" >"$T/$1.lint" 2>&1 || {
        cat "$T/$1.lint" >&2
        fail "promtool finds $1's metrics invalid"
    }
}
# value NAME SERIES: the value of the series (name with its labels, exactly) in $T/NAME.prom.
value() {
    awk -v s="$2" 'index($0, s " ") == 1 { print $2 }' "$T/$1.prom"
}

say "every daemon's metrics are valid exposition text"
scrape main "$main_m"
scrape side "$side_m"
scrape anchord "$anchord_m"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$main_m/other")
[ "$code" = 404 ] || fail "GET /other answered $code, want 404"
for series in ecert_chain_height ecert_block_interval_seconds_bucket ecert_txs_total \
    ecert_mempool_txs ecert_verify_queue_txs ecert_consensus_round ecert_consensus_rounds_total \
    ecert_validators ecert_peers ecert_rocksdb_live_data_bytes ecert_rocksdb_block_cache_bytes \
    ecert_process_resident_bytes ecert_disk_free_bytes; do
    grep -q "^$series{chain_id=\"ecert-main-dev\"" "$T/main.prom" || fail "main lacks $series"
    grep -q "^$series{chain_id=\"ecert-degree-dev\"" "$T/side.prom" || fail "side lacks $series"
done
[ "$(value main 'ecert_validators{chain_id="ecert-main-dev"}')" = 1 ] ||
    fail "main reports $(value main 'ecert_validators{chain_id="ecert-main-dev"}') validators, want 1"
rss=$(value main 'ecert_process_resident_bytes{chain_id="ecert-main-dev"}')
[ "${rss:-0}" -gt 1000000 ] || fail "main's resident memory is '$rss'"

main_applied='ecert_txs_total{chain_id="ecert-main-dev",result="applied"}'
side_applied='ecert_txs_total{chain_id="ecert-degree-dev",result="applied"}'
h0=$(value main 'ecert_chain_height{chain_id="ecert-main-dev"}')
a0=$(value main "$main_applied")
s0=$(value side "$side_applied")

say "an account on the main chain: height and applied transactions grow"
run_logged account.log "registering an account" ecert account new --name "metrics-$$" \
    --out "$T/acct.key"
# The reply comes when the block is stored; the core thread publishes right after.
main_moved() {
    scrape main "$main_m"
    [ "$(value main "$main_applied")" -gt "$a0" ] &&
        [ "$(value main 'ecert_chain_height{chain_id="ecert-main-dev"}')" -gt "$h0" ]
}
wait_for 5 main_moved || fail "main: applied stays $a0 or height $h0 after a registration"
grep -q '^ecert_submit_total{chain_id="ecert-main-dev",code="OK"} [1-9]' "$T/main.prom" ||
    fail "main counts no OK submission"

say "the same name again is refused and counted by its code"
if ecert account register --key "$T/acct.key" --name "metrics-$$" >"$T/again.log" 2>&1; then
    fail "registering the same account twice succeeded"
fi
refused() {
    scrape main "$main_m"
    grep -q '^ecert_submit_total{chain_id="ecert-main-dev",code="E[A-Z]*"} [1-9]' "$T/main.prom"
}
wait_for 5 refused || fail "main counts no refused submission"

say "an evidence deposit on the side chain: its applied transactions grow"
echo "metrics $$" >"$T/file.txt"
run_logged evidence.log "depositing evidence" ecert --key "$T/acct.key" evidence put \
    --type degree --receipts "$T/receipts" "$T/file.txt"
side_moved() {
    scrape side "$side_m"
    [ "$(value side "$side_applied")" -gt "$s0" ]
}
wait_for 5 side_moved || fail "side: applied stays $s0 after an evidence deposit"
grep -q '^ecert_block_interval_seconds_count{chain_id="ecert-degree-dev"} [1-9]' "$T/side.prom" ||
    fail "side observed no block interval"

say "anchord: both chains up, lag per direction"
[ "$(value anchord 'ecert_anchor_chain_up{chain_id="ecert-main-dev"}')" = 1 ] ||
    fail "anchord does not report the main chain up"
[ "$(value anchord 'ecert_anchor_chain_up{chain_id="ecert-degree-dev"}')" = 1 ] ||
    fail "anchord does not report the degree chain up"
for d in up down; do
    grep -q "^ecert_anchor_lag_blocks{chain_id=\"ecert-degree-dev\",direction=\"$d\"} [0-9]" \
        "$T/anchord.prom" || fail "anchord reports no $d lag for the degree chain"
done

say "a bad metrics address is a configuration error"
node_yaml=$ECERT_DEVNET_DIR/main/node.yaml
grep -q "^metrics: 127.0.0.1:$main_m\$" "$node_yaml" || fail "node.yaml has no metrics line"
rc=0
"$ECERT_BUILD/mainchain/mainchaind" --config "$node_yaml" --check-config --metrics nowhere \
    >"$T/badflag.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--metrics nowhere exited $rc, want 2"
sed "s/^metrics: .*/metrics: 127.0.0.1:99999/" "$node_yaml" >"$ECERT_DEVNET_DIR/main/bad.yaml"
rc=0
"$ECERT_BUILD/mainchain/mainchaind" --config "$ECERT_DEVNET_DIR/main/bad.yaml" --check-config \
    >"$T/badcfg.log" 2>&1 || rc=$?
if [ "$rc" != 2 ] || ! grep -q "key 'metrics'" "$T/badcfg.log"; then
    cat "$T/badcfg.log" >&2
    fail "a config with metrics 127.0.0.1:99999 exited $rc, want 2 naming the key"
fi

say "promtool: the configurations and the alert rules' tests"
run_logged promcfg.log "the devnet's prometheus.yml is invalid" \
    promtool check config "$ECERT_DEVNET_DIR/prometheus.yml"
run_logged promdeploy.log "deploy/prometheus/prometheus.yml is invalid" \
    promtool check config "$ECERT_SOURCE/deploy/prometheus/prometheus.yml"
run_logged promrules.log "the alert rules' unit tests fail" \
    promtool test rules "$ECERT_SOURCE/deploy/prometheus/rules.test.yml"

say "Prometheus scrapes the chains and the relay"
# up{job} is 1 once a target was scraped (the gateway's may be down: not this test's).
all_up() {
    curl -fsS --max-time 2 "http://127.0.0.1:$prom/api/v1/query?query=up" >"$T/up.json" &&
        for job in ecert-node ecert-anchord; do
            grep -q "\"job\":\"$job\"" "$T/up.json" || return 1
        done &&
        ! grep -q '"job":"ecert-\(node\|anchord\)"[^]]*"0"\]' "$T/up.json" &&
        [ "$(grep -o '"job":"ecert-node"' "$T/up.json" | wc -l)" -eq 2 ]
}
wait_for 15 all_up || {
    cat "$T/up.json" >&2
    fail "Prometheus does not see every chain node and the relay up"
}
devnet status >"$T/status.log" 2>&1 || true
grep -qF "http://127.0.0.1:$side_m/metrics" "$T/status.log" ||
    fail "devnet status does not print the metrics URLs"

say "down stops Prometheus"
ppid=$(pid_of prometheus)
run_logged down.log "devnet down failed" devnet down
dead "$ppid" || fail "Prometheus (pid $ppid) survived devnet down"
pass
