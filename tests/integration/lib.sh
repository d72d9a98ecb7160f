# tests/integration/lib.sh - sourced by every integration test. Sets up a private devnet
# folder and a free port range, and a trap that always stops every daemon the test started
# (and removes the folder) when the test ends, however it ends.
#
# meson sets ECERT_BUILD (build folder), ECERT_SOURCE (source tree) and ECERT_PROBE (the raw
# RPC client). Set ECERT_KEEP=1 to keep the temporary folder for a post-mortem.
# shellcheck shell=bash

set -euo pipefail

if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
    # The test's opening comment is its help.
    sed -n '2,/^[^#]/{/^# shellcheck/d;/^#/s/^# \{0,1\}//p}' "$0"
    echo
    echo "Run through meson: meson test -C build $(basename "$0" .sh)"
    echo "(or set ECERT_BUILD=<build folder> ECERT_SOURCE=<source tree>; ECERT_KEEP=1 keeps"
    echo "the temporary devnet folder for a post-mortem)."
    exit 0
fi

: "${ECERT_BUILD:?run through meson test (ECERT_BUILD is not set)}"
: "${ECERT_SOURCE:?run through meson test (ECERT_SOURCE is not set)}"
ECERT_BUILD=$(cd "$ECERT_BUILD" && pwd)
ECERT_PROBE=${ECERT_PROBE:-$ECERT_BUILD/tests/integration/ec_probe}
export ECERT_BUILD ECERT_SOURCE ECERT_PROBE

test_name=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/ecert-$test_name.XXXXXX")
export ECERT_DEVNET_DIR=$T/devnet
export ECERT_CONFIG=$ECERT_DEVNET_DIR/client.yaml
test_started=$SECONDS
test_passed=0

say() { echo "[$test_name $((SECONDS - test_started))s] $*"; }
fail() {
    echo "[$test_name] FAIL: $*" >&2
    exit 1
}

# Stops every daemon whose pid file is in the devnet folder: first politely through
# scripts/devnet down, then SIGKILL for anything left (a test must never leak a daemon).
stop_all() {
    local f pid
    [ -d "$ECERT_DEVNET_DIR/run" ] || return 0
    "$ECERT_SOURCE/scripts/devnet" down --dir "$ECERT_DEVNET_DIR" >/dev/null 2>&1 8>&- 9>&- ||
        true
    for f in "$ECERT_DEVNET_DIR"/run/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null || true)
        case "$pid" in '' | *[!0-9]*) continue ;; esac
        kill -KILL "$pid" 2>/dev/null || true
    done
}

# The test's own stdout and stderr, kept so cleanup() reports there even when a signal
# arrives inside a redirected call (bash runs the trap with that redirection in place).
exec 8>&1 9>&2

cleanup() {
    local rc=$? log job
    trap - EXIT INT TERM
    exec 1>&8 2>&9
    # Background loops of the test (load generators) end with it: left running they keep
    # the runner's output open, and the test hangs until its timeout instead of failing.
    for job in $(jobs -p); do
        kill "$job" 2>/dev/null || true
    done
    stop_all
    if [ "$test_passed" -ne 1 ] || [ "$rc" -ne 0 ]; then
        for log in "$ECERT_DEVNET_DIR"/logs/*.log; do
            [ -f "$log" ] || continue
            echo "---- last lines of $(basename "$log")" >&2
            tail -n 25 "$log" >&2
        done
        [ "$rc" -ne 0 ] || rc=1
    fi
    if [ "${ECERT_KEEP:-0}" = 1 ]; then
        echo "[$test_name] kept $T" >&2
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' INT TERM

# ---- ports: a base from 20000-28750, chosen from the pid, skipping busy ranges ----------
# A devnet of V validators per chain uses base .. base + 1000 * (V - 1) + 250 for its
# chains (rpc, pub, p2p and metrics at +5), and base + 305 (anchord's metrics), + 400/405
# (an ODS), + 600/605 (the gateway) and + 620/625 (a test's second gateway) (see
# scripts/devnet); with V up to 4 that stays below 32000, under Linux's ephemeral range
# (32768-60999): a port there may be held by any outgoing connection, and a node that
# cannot bind its port does not start.
port_busy() { # true when something accepts connections on 127.0.0.1:$1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
range_busy() { # base: true when a port of any validator's range is taken
    local v p
    for v in 0 1 2 3; do
        for p in $(seq $(($1 + 1000 * v)) 10 $(($1 + 1000 * v + 200))); do
            if port_busy "$p" || port_busy $((p + 1)) || port_busy $((p + 2)) ||
                port_busy $((p + 5)); then
                return 0
            fi
        done
    done
    for p in 305 400 405 600 605 620 625; do
        port_busy $(($1 + p)) && return 0
    done
    return 1
}
pick_ports() {
    local try base
    for try in $(seq 0 40); do
        base=$((20000 + ((($$ + try * 7919) % 36) * 250)))
        if ! range_busy "$base"; then
            echo "$base"
            return 0
        fi
    done
    fail "no free port range found in 20000-32000"
}
ECERT_PORT_BASE=$(pick_ports)
export ECERT_PORT_BASE

# A smaller devnet (two side chains) for the tests that do not need all five.
use_small_devnet() {
    cat >"$T/chains.yaml" <<'EOF'
sides:
  - {type: marriage, rpc: 7100, pub: 7101}
  - {type: degree, rpc: 7110, pub: 7111}
EOF
    export ECERT_DEVNET_CHAINS=$T/chains.yaml
}

# The main chain and the degree side chain, each run by 4 validators, with the demo run on
# them (what it made is loaded from $T/demo/demo.env) and the passphrase loaded.
four_validator_devnet_with_demo() {
    cat >"$T/chains.yaml" <<'EOF2'
sides:
  - {type: degree, rpc: 7100, pub: 7101}
EOF2
    export ECERT_DEVNET_CHAINS=$T/chains.yaml
    say "devnet up --validators 4 + demo"
    run_logged up.log "devnet up --validators 4 failed" devnet up --validators 4
    run_logged demo.log "the demo failed on 4 validators" demo --out "$T/demo"
    # shellcheck source=/dev/null
    . "$T/demo/demo.env"
    load_passphrase
}

# ---- helpers ---------------------------------------------------------------------------

# Daemons must not inherit the saved descriptors 8 and 9 (meson's output pipes).
devnet() { "$ECERT_SOURCE/scripts/devnet" "$@" --dir "$ECERT_DEVNET_DIR" 8>&- 9>&-; }
demo() { "$ECERT_SOURCE/scripts/demo" --dir "$ECERT_DEVNET_DIR" "$@" 8>&- 9>&-; }
ecert() { "$ECERT_BUILD/client/ecert" "$@"; }
probe() { "$ECERT_PROBE" "$@"; }

# The devnet passphrase, for the client's key files (the test's shell only: daemons must
# not get it, see no_passphrase_in_daemon_env).
load_passphrase() {
    ECERT_PASSPHRASE=$(head -n 1 "$ECERT_DEVNET_DIR/passphrase")
    export ECERT_PASSPHRASE
}

# Fails the test when a running daemon of the devnet has ECERT_PASSPHRASE in its
# environment: their configs name passphrase_file, and an environment is readable by every
# process of the same user (/proc/PID/environ) and inherited by every child.
no_passphrase_in_daemon_env() {
    local f pid checked=0
    for f in "$ECERT_DEVNET_DIR"/run/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        alive "$pid" || continue
        [ -r "/proc/$pid/environ" ] || fail "cannot read /proc/$pid/environ"
        if tr '\0' '\n' <"/proc/$pid/environ" | grep -q '^ECERT_PASSPHRASE='; then
            fail "$(basename "$f" .pid) (pid $pid) has ECERT_PASSPHRASE in its environment"
        fi
        checked=$((checked + 1))
    done
    [ "$checked" -gt 0 ] || fail "no running daemon to check for ECERT_PASSPHRASE"
}

# Endpoints of the devnet's chains (from the port base; see deploy/devnet/chains.yaml).
main_rpc() { echo "tcp://127.0.0.1:$ECERT_PORT_BASE"; }
side_rpc() { # side chain type -> its (first) endpoint, from the client config
    awk -v t="  $1:" '$0 == t { found = 1; next } found && /rpc:/ { print $2; exit }' \
        "$ECERT_CONFIG" | tr -d '"[],'
}
pid_of() { cat "$ECERT_DEVNET_DIR/run/$1.pid"; }
# True when process $1 runs (a zombie does not count: PID 1 may not reap orphans).
alive() {
    local st
    kill -0 "$1" 2>/dev/null || return 1
    st=$(sed -n 's/^[0-9]* (.*) \([A-Z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
    [ "$st" != Z ] && [ "$st" != X ]
}
dead() { ! alive "$1"; }

# Height of a chain, through the raw probe: `height ENDPOINT`.
height() {
    probe status "$1" | sed -n 's/.* height=\([0-9]*\).*/\1/p'
}

# A flat field of a one-line JSON object: `json_field KEY "$json"`.
json_field() {
    sed -n 's/.*"'"$1"'": *"\{0,1\}\([^",}]*\)"\{0,1\}[,}].*/\1/p' <<<"$2" | head -n 1
}

# Waits up to $1 seconds for the command in the remaining arguments to succeed.
wait_for() {
    local limit=$1 deadline
    shift
    deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.3
    done
}

# Runs a command with its output in $T/LOG; if it fails, shows that log and fails the test
# with MESSAGE: `run_logged LOG MESSAGE COMMAND...`.
run_logged() {
    local log=$T/$1 msg=$2
    shift 2
    "$@" >"$log" 2>&1 || {
        cat "$log" >&2
        fail "$msg"
    }
}

# Brings the devnet up (output in $T/up.log), failing the test if it does not come up.
devnet_up() { run_logged up.log "devnet up failed" devnet up; }

# devnet_up, then the demo walkthrough into $T/demo (output in $T/demo.log), and loads
# what it made (CITIZEN, CITIZEN_KEY, BUNDLE, ...) from $T/demo/demo.env.
devnet_up_with_demo() {
    devnet_up
    run_logged demo.log "the demo failed" demo --out "$T/demo"
    # shellcheck source=/dev/null
    . "$T/demo/demo.env"
}

# Marks the test as passed (call last): the trap then removes the folder quietly.
pass() {
    test_passed=1
    say "PASS ($((SECONDS - test_started))s)"
}

say "devnet in $ECERT_DEVNET_DIR, ports from $ECERT_PORT_BASE"
