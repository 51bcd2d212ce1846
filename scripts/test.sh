#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need when it is missing
# (Mosquitto, from Debian's packages), builds the binary the crash test runs, and runs every test.
# Tests start their own brokers on free ports and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
    echo "installing mosquitto from Debian's packages..."
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mosquitto >/dev/null
fi

start=$(date +%s)
cargo build --bin forewarn
cargo test --workspace
echo "test suite wall time (build included): $(( $(date +%s) - start )) s"
