#!/usr/bin/env bash
# deploy_gen: deploy/gen turns one inventory into every host's configuration, that
# configuration runs, and the procedures of docs/OPERATIONS.md section 12 work on it.
# "Hosts" h1..h5 are loopback addresses of this machine (127.0.0.2..127.0.0.6, the same
# ports on each) with a folder each standing for their /etc/ecert. The test makes each
# host's keys there with `deploy/gen keys` (what keys-plan tells an operator to run on each
# host) and collects only the public keys; generates the configs twice (identical trees);
# checks that the systemd units name the config files the generator wrote and that bad
# inventory lines, a missing public key and a changed genesis are refused, naming the line;
# installs each host's ecert/ folder; starts the main chain's 4 validators and the degree
# side chain's 4 from those files and requires each chain's nodes to reach the same height
# and tip with 3 peers each; stops h4's main node and registers an account through h4's
# client.yaml, which must fail over to another validator. Then, on the main chain, a
# validator joins and one leaves as the documentation says: main@h5 (genesis: no) is
# added (new peers, rolling restart, its node started, the governance command SUMMARY
# prints), main@h4 is removed (governance, then its node stops, removed: yes), no genesis
# changes and the degree chain's nodes are never restarted. Every node stops with SIGTERM
# and exit status 0, and no passphrase appears in any output or log.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

gen() { "$ECERT_SOURCE/deploy/gen" "$@" 8>&- 9>&-; }
ecert_bin=$ECERT_BUILD/client/ecert
logs=$ECERT_DEVNET_DIR/logs # lib.sh shows their tails when the test fails
run=$ECERT_DEVNET_DIR/run   # and SIGKILLs every pid in here, however the test ends
mkdir -p "$logs" "$run"
inv=$T/inventory.yaml
base=$ECERT_PORT_BASE

cat >"$inv" <<EOF
# The network of the deploy_gen integration test.
hosts:
  - {name: h1, address: 127.0.0.2}
  - {name: h2, address: 127.0.0.3}
  - {name: h3, address: 127.0.0.4}
  - {name: h4, address: 127.0.0.5}
operators:
  - {name: alice}
chains:
  - {name: main, chain_id: test-main, time_ms: 1767225600000, heartbeat_ms: 1000}
  - {name: degree, chain_id: test-degree, time_ms: 1767225600000, heartbeat_ms: 1000}
  - {name: marriage, chain_id: test-marriage, time_ms: 1767225600000}
validators:
  - {chain: main, host: h1, rpc: $base, pub: $((base + 1)), p2p: $((base + 2))}
  - {chain: main, host: h2, rpc: $base, pub: $((base + 1)), p2p: $((base + 2))}
  - {chain: main, host: h3, rpc: $base, pub: $((base + 1)), p2p: $((base + 2))}
  - {chain: main, host: h4, rpc: $base, pub: $((base + 1)), p2p: $((base + 2))}
  - {chain: degree, host: h1, rpc: $((base + 10)), pub: $((base + 11)), p2p: $((base + 12))}
  - {chain: degree, host: h2, rpc: $((base + 10)), pub: $((base + 11)), p2p: $((base + 12))}
  - {chain: degree, host: h3, rpc: $((base + 10)), pub: $((base + 11)), p2p: $((base + 12))}
  - {chain: degree, host: h4, rpc: $((base + 10)), pub: $((base + 11)), p2p: $((base + 12))}
  - {chain: marriage, host: h2, rpc: $((base + 20)), pub: $((base + 21)), p2p: $((base + 22))}
  - {chain: marriage, host: h3, rpc: $((base + 20)), pub: $((base + 21)), p2p: $((base + 22))}
  - {chain: marriage, host: h4, rpc: $((base + 20)), pub: $((base + 21)), p2p: $((base + 22))}
relays:
  - {host: h1}
EOF
hosts=(h1 h2 h3 h4)
addr_of() { echo "127.0.0.$((${1#h} + 1))"; }
etc_of() { echo "$T/hosts/$1/etc"; } # the host's /etc/ecert

say "keys: made on each host, public keys collected"
run_logged plan.log "keys-plan failed" gen keys-plan "$inv"
for h in "${hosts[@]}"; do
    grep -q "^newkey /etc/ecert/main validator main@$h\$" "$T/plan.log" ||
        fail "keys-plan has no main-chain key for $h"
done
grep -q '^newkey /etc/ecert/anchord anchor anchord@h1$' "$T/plan.log" || fail "keys-plan has no relay key on h1"
: >"$T/pubkeys"
for h in "${hosts[@]}"; do
    gen keys "$inv" --host "$h" --etc-dir "$(etc_of "$h")" --ecert "$ecert_bin" \
        >"$T/keys-$h.out" 2>"$T/keys-$h.err" || {
        cat "$T/keys-$h.err" >&2
        fail "deploy/gen keys --host $h failed"
    }
    cat "$T/keys-$h.out" >>"$T/pubkeys"
    # Only "ID PK" lines, one per validator the host runs; the relay's key stays unnamed.
    grep -qvE '^[a-z]+@h[1-4] [0-9a-f]{64}$' "$T/keys-$h.out" &&
        fail "keys --host $h printed more than public keys: $(cat "$T/keys-$h.out")"
    want=2
    [ "$h" = h1 ] || want=3
    [ "$(wc -l <"$T/keys-$h.out")" -eq "$want" ] || fail "keys --host $h printed $(wc -l <"$T/keys-$h.out") keys, not $want"
    for f in "$(etc_of "$h")"/*/*.key "$(etc_of "$h")"/*/*.pass "$(etc_of "$h")"/sides/*/*.key \
        "$(etc_of "$h")"/sides/*/*.pass; do
        [ "$(stat -c %a "$f")" = 600 ] || fail "$f has mode $(stat -c %a "$f"), not 600"
    done
done
[ -f "$(etc_of h1)/anchord/anchor.key" ] || fail "no relay key on h1"
gen keys "$inv" --host h2 --etc-dir "$(etc_of h2)" --ecert "$ecert_bin" >"$T/keys-h2.again" 2>&1 ||
    fail "deploy/gen keys failed the second time"
cmp -s "$T/keys-h2.out" "$T/keys-h2.again" || fail "a second keys run did not keep the keys"
# The operator's key, on the operator's machine, as keys-plan says (with a passphrase file).
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/operator.pass"
chmod 600 "$T/operator.pass"
ecert account new --offline --name operator@alice --out "$T/operator-alice.key" \
    --passphrase-file "$T/operator.pass" >/dev/null || fail "could not make the operator key"
echo "operator@alice $(ecert --json account address --key "$T/operator-alice.key" | jq -r .pk)" \
    >>"$T/pubkeys"

say "configs: generated twice, byte for byte the same"
run_logged configs1.log "deploy/gen configs failed" \
    gen configs "$inv" --pubkeys "$T/pubkeys" --out "$T/out1" --data-root data --ecert "$ecert_bin"
cp -r "$T/out1" "$T/out1.first"
run_logged configs2.log "deploy/gen configs failed the second time (replacing its own output)" \
    gen configs "$inv" --pubkeys "$T/pubkeys" --out "$T/out1" --data-root data --ecert "$ecert_bin"
diff -r "$T/out1.first" "$T/out1" >"$T/diff.log" || fail "two runs differ: $(head -n 20 "$T/diff.log")"
mkdir -p "$T/other" && touch "$T/other/precious"
if gen configs "$inv" --pubkeys "$T/pubkeys" --out "$T/other" --ecert "$ecert_bin" 2>/dev/null; then
    fail "configs replaced a folder it did not make"
fi
[ -f "$T/other/precious" ] || fail "configs deleted a folder it did not make"

# Every unit a host enables names a config file the generator wrote for that host.
for h in "${hosts[@]}"; do
    d=$T/out1/$h
    while read -r unit; do
        tmpl=${unit/@*./@.}
        [ -f "$d/systemd/$tmpl" ] || fail "$h enables $unit but has no $tmpl"
        inst=${unit#*@}
        inst=${inst%.service}
        cfg=$(sed -n 's/^ExecStart=.* --config \(.*\)$/\1/p' "$d/systemd/$tmpl")
        cfg=${cfg//%i/$inst}
        [ -f "$d/ecert/${cfg#/etc/ecert/}" ] || fail "$unit reads $cfg, which $h's folder does not have"
    done <"$d/units"
done
[ "$(cat "$T/out1/h1/units")" = "$(printf '%s\n' ecert-mainchaind.service \
    ecert-sidechaind@degree.service ecert-anchord.service)" ] || fail "h1's units: $(cat "$T/out1/h1/units")"
grep -q 'ecert-sidechaind@marriage.service' "$T/out1/h4/units" || fail "h4 does not run marriage"
[ ! -e "$T/out1/h1/ecert/sides/marriage" ] || fail "h1 got a marriage node it does not run"

say "bad inventories are refused, naming the line"
refused() { # message-pattern file [pubkeys]: configs must fail, naming file:line and the text
    local line
    if gen configs "$2" --pubkeys "${3:-$T/pubkeys}" --out "$T/bad-out" --ecert "$ecert_bin" \
        >"$T/bad.out" 2>"$T/bad.err"; then
        fail "configs accepted $(basename "$2") ($1)"
    fi
    grep -q "$1" "$T/bad.err" || fail "refusing $(basename "$2"), configs did not say '$1': $(cat "$T/bad.err")"
    line=$(grep -o "$(basename "$2"):[0-9]*:" "$T/bad.err" | head -n 1 | cut -d: -f2)
    [ -n "$line" ] || fail "configs did not name the line: $(cat "$T/bad.err")"
    grep -qF -- "$(sed -n "${line}p" "$2")" "$T/bad.err" || fail "configs did not show line $line"
    [ ! -e "$T/bad-out" ] || fail "configs wrote output for a bad inventory"
}
sed 's/{chain: degree, host: h3,/{chain: degree, host: h9,/' "$inv" >"$T/unknown-host.yaml"
refused "unknown host 'h9'" "$T/unknown-host.yaml"
sed "s/{chain: degree, host: h2, rpc: $((base + 10)),/{chain: degree, host: h2, rpc: $base,/" \
    "$inv" >"$T/port-twice.yaml"
refused "rpc port $base on 127.0.0.3 is already used by main@h2" "$T/port-twice.yaml"
sed 's/  - {name: h3, address: 127.0.0.4}/  - name: h3/' "$inv" >"$T/block-style.yaml"
refused "cannot read this line" "$T/block-style.yaml"
sed 's/{name: degree, chain_id: test-degree,/{name: degree, chain_id: test-degree, genesis_hash: '"$(printf '%064d' 0)"',/' \
    "$inv" >"$T/pinned.yaml"
refused "the genesis of degree would have hash" "$T/pinned.yaml"
grep -v '^main@h3 ' "$T/pubkeys" >"$T/pubkeys-short"
refused "no public key for main@h3" "$inv" "$T/pubkeys-short"
# Pinning the right hash is accepted: the genesis only depends on the lines that shape it.
hash=$(sed -n 's/^chain degree (test-degree): genesis hash \([0-9a-f]*\)$/\1/p' "$T/out1/SUMMARY")
sed 's/{name: degree, chain_id: test-degree,/{name: degree, chain_id: test-degree, genesis_hash: '"$hash"',/' \
    "$inv" >"$T/pinned-ok.yaml"
run_logged pinned.log "configs refused the right pinned hash" \
    gen configs "$T/pinned-ok.yaml" --pubkeys "$T/pubkeys" --out "$T/out3" --ecert "$ecert_bin"
cmp -s "$T/out1/genesis/degree.yaml" "$T/out3/genesis/degree.yaml" || fail "the degree genesis changed"

say "installing each host's ecert/ folder into its /etc/ecert"
for h in "${hosts[@]}"; do
    cp -r "$T/out1/$h/ecert/." "$(etc_of "$h")/"
done
grep -q "^p2p: tcp://127.0.0.3:$((base + 2))\$" "$(etc_of h2)/main/node.yaml" ||
    fail "h2's main node does not listen at its own address"
[ "$(grep -c "^  - {pk: [0-9a-f]\{64\}, p2p: \"tcp://127.0.0.[2-5]:$((base + 2))\"}\$" \
    "$(etc_of h2)/main/node.yaml")" -eq 3 ] || fail "h2's main node does not list its 3 peers"

say "starting the 4 main-chain and 4 degree validators from the generated files"
declare -A pid_of
start() { # name: main-hN or degree-hN, from the files installed on hN
    local name=$1 h=${1#*-} bin=$ECERT_BUILD/mainchain/mainchaind cfg
    cfg=$(etc_of "$h")/main/node.yaml
    if [ "${name%%-*}" = degree ]; then
        bin=$ECERT_BUILD/sidechain/sidechaind
        cfg=$(etc_of "$h")/sides/degree/node.yaml
    fi
    env -u ECERT_PASSPHRASE "$bin" --config "$cfg" </dev/null >>"$logs/$name.log" 2>&1 8>&- 9>&- &
    pid_of[$name]=$!
    echo "$!" >"$run/$name.pid"
}
stop() { # name: SIGTERM, and the node must stop cleanly (exit status 0)
    local rc=0
    kill -TERM "${pid_of[$1]}" 2>/dev/null || true
    wait "${pid_of[$1]}" || rc=$?
    [ "$rc" -eq 0 ] || fail "$1 exited with status $rc after SIGTERM"
    unset "pid_of[$1]"
    rm -f "$run/$1.pid"
}
for h in "${hosts[@]}"; do start "main-$h"; done
for h in "${hosts[@]}"; do start "degree-$h"; done
degree_pids="${pid_of[degree-h1]} ${pid_of[degree-h2]} ${pid_of[degree-h3]} ${pid_of[degree-h4]}"

status_of() { ecert --json --timeout-ms 1000 node status --rpc "$1" 2>/dev/null; }
# True when the given hosts' nodes of a chain (rpc port) all answer with the same height
# (>= 2) and tip, N validators in the set and N-1 peers each. A block comes every second:
# the answers are read first and checked after, so that they fall within one block.
agree() { # port N host...
    local port=$1 n=$2 h s all=() want=""
    shift 2
    for h in "$@"; do
        all+=("$(status_of "tcp://$(addr_of "$h"):$port")") || return 1
    done
    for s in "${all[@]}"; do
        [ "$(json_field peers "$s")" = $((n - 1)) ] && [ "$(json_field validators "$s")" = "$n" ] ||
            return 1
        [ "$(json_field height "$s")" -ge 2 ] || return 1
        s="$(json_field chain_id "$s") $(json_field height "$s") $(json_field tip "$s")"
        [ -z "$want" ] || [ "$s" = "$want" ] || return 1
        want=$s
    done
}
# Waits up to SECONDS for `agree PORT N HOST...`, failing at once when a node exited, and
# with every node's view when they do not agree in time.
wait_agree() { # seconds what port N host...
    local deadline=$((SECONDS + $1)) what=$2 port=$3 name h
    shift 2
    until agree "$@"; do
        for name in "${!pid_of[@]}"; do
            alive "${pid_of[$name]}" || fail "$name exited (log: $name.log)"
        done
        if [ "$SECONDS" -ge "$deadline" ]; then
            shift 2
            fail "$what: $(for h in "$@"; do
                echo
                status_of "tcp://$(addr_of "$h"):$port" || echo "$h: no answer"
            done)"
        fi
        sleep 0.3
    done
}
wait_agree 30 "the main chain's 4 validators do not agree" "$base" 4 h1 h2 h3 h4
wait_agree 20 "the degree chain's 4 validators do not agree" "$((base + 10))" 4 h1 h2 h3 h4
s=$(status_of "tcp://127.0.0.5:$((base + 10))")
[ "$(json_field chain_id "$s")" = test-degree ] || fail "h4's degree node runs $(json_field chain_id "$s")"

say "h4's main node stops; h4's client.yaml fails over to another validator"
stop main-h4
out=$(ecert --config "$(etc_of h4)/client.yaml" --timeout-ms 3000 \
    --passphrase-file "$T/operator.pass" account new --name "deploy test" --out "$T/user.key" \
    2>"$T/register.err") || {
    cat "$T/register.err" >&2
    fail "registering through h4's client.yaml failed"
}
grep -q "trying tcp://127.0.0.2:$base" "$T/register.err" ||
    fail "the client did not try h4's own node first, then h1's: $(cat "$T/register.err")"
grep -q 'ec1' <<<"$out" || fail "no account registered: $out"

# docs/OPERATIONS.md, "Adding or removing a validator", on the main chain: h5 joins, h4 leaves.
say "main@h5 joins (genesis: no): new peers, rolling restart, governance"
for c in main degree marriage; do # pin every genesis, as the procedure says
    hash=$(sed -n "s/^chain $c ([a-z-]*): genesis hash \([0-9a-f]*\)\$/\1/p" "$T/out1/SUMMARY")
    sed -i "s/{name: $c, chain_id: test-$c,/{name: $c, chain_id: test-$c, genesis_hash: $hash,/" "$inv"
done
sed -i 's/^operators:$/  - {name: h5, address: 127.0.0.6}\n&/' "$inv"
sed -i "/^relays:\$/i\\  - {chain: main, host: h5, rpc: $base, pub: $((base + 1)), p2p: $((base + 2)), genesis: no}" "$inv"
gen keys "$inv" --host h5 --etc-dir "$(etc_of h5)" --ecert "$ecert_bin" >>"$T/pubkeys" ||
    fail "deploy/gen keys --host h5 failed"
run_logged configs4.log "deploy/gen configs refused the joining validator" \
    gen configs "$inv" --pubkeys "$T/pubkeys" --out "$T/out4" --data-root data --ecert "$ecert_bin"
diff -r "$T/out1/genesis" "$T/out4/genesis" >/dev/null || fail "a joining validator changed a genesis"
for h in "${hosts[@]}"; do
    diff -r "$T/out1/$h/ecert/sides" "$T/out4/$h/ecert/sides" >/dev/null ||
        fail "a main-chain validator joining changed $h's side-chain files"
    grep -q "p2p: \"tcp://127.0.0.6:$((base + 2))\"" "$T/out4/$h/ecert/main/node.yaml" ||
        fail "$h's main node.yaml does not list h5 as a peer"
done
for h in h4 h1 h2 h3; do # one at a time, each back with the others before the next
    cp "$T/out4/$h/ecert/main/node.yaml" "$(etc_of "$h")/main/node.yaml"
    [ -z "${pid_of[main-$h]:-}" ] || stop "main-$h"
    start "main-$h"
    wait_agree 20 "main-$h does not rejoin after its restart" "$base" 4 h1 h2 h3 h4
done
cp -r "$T/out4/h5/ecert/." "$(etc_of h5)/"
start main-h5
wait_for 10 status_of "tcp://127.0.0.6:$base" || true
alive "${pid_of[main-h5]}" || fail "main-h5, a validator not in the genesis, does not start:
$(tail -n 3 "$logs/main-h5.log")"
s=$(status_of "tcp://127.0.0.6:$base") || fail "main-h5 does not answer"
[ "$(json_field validator "$s")" = null ] || fail "main-h5 is a validator before governance: $s"
# The command SUMMARY prints for it, signed by the operator.
read -r -a cmd < <(sed -n "s|^ *joined with: \(.*\)OPERATOR.key|\1$T/operator-alice.key|p" "$T/out4/SUMMARY")
[[ ${cmd[0]:-} = ecert && " ${cmd[*]} " = *" --power 1 "* ]] ||
    fail "SUMMARY does not say how main@h5 joins"
run_logged join.log "the operator could not add main@h5" \
    ecert --config "$(etc_of h1)/client.yaml" --passphrase-file "$T/operator.pass" \
    "${cmd[@]:1}"
wait_agree 30 "main@h5 did not join" "$base" 5 h1 h2 h3 h4 h5

say "main@h4 leaves (removed: yes): governance, then its node stops"
pk4=$(sed -n 's/^main@h4 //p' "$T/pubkeys")
run_logged leave.log "the operator could not remove main@h4" \
    ecert --config "$(etc_of h1)/client.yaml" --passphrase-file "$T/operator.pass" \
    validator set --key "$T/operator-alice.key" --validator-pk "$pk4" --power 0
wait_agree 30 "main@h4 did not leave" "$base" 4 h1 h2 h3 h5
stop main-h4
sed -i "s/{chain: main, host: h4, rpc: $base, pub: $((base + 1)), p2p: $((base + 2))}/{chain: main, host: h4, rpc: $base, pub: $((base + 1)), p2p: $((base + 2)), removed: yes}/" "$inv"
run_logged configs5.log "deploy/gen configs refused the removed validator" \
    gen configs "$inv" --pubkeys "$T/pubkeys" --out "$T/out5" --data-root data --ecert "$ecert_bin"
diff -r "$T/out1/genesis" "$T/out5/genesis" >/dev/null || fail "a removed validator changed a genesis"
[ ! -e "$T/out5/h4/ecert/main/node.yaml" ] || fail "h4 still gets a main node"
! grep -q "127.0.0.5:$((base + 2))" "$T/out5/h1/ecert/main/node.yaml" || fail "h1 still lists h4 as a peer"
grep -q "^      left with: .*--validator-pk $pk4 --power 0\$" "$T/out5/SUMMARY" ||
    fail "SUMMARY does not say how main@h4 left"

say "the degree chain was not touched"
[ "$degree_pids" = "${pid_of[degree-h1]} ${pid_of[degree-h2]} ${pid_of[degree-h3]} ${pid_of[degree-h4]}" ] ||
    fail "a degree node was restarted"
wait_agree 10 "the degree chain's 4 validators do not agree at the end" "$((base + 10))" 4 h1 h2 h3 h4

say "no passphrase in any output or log"
for f in "$T"/hosts/*/etc/*/*.pass "$T"/hosts/*/etc/sides/*/*.pass "$T/operator.pass"; do
    if grep -rqF -f "$f" "$T"/*.log "$T"/*.out "$T/pubkeys" "$T/out1" "$logs"; then
        fail "the passphrase in $f appears in the output or a log"
    fi
done

say "stopping every node with SIGTERM"
for name in "${!pid_of[@]}"; do stop "$name"; done
pass
