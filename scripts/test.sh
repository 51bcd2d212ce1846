#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need when it is missing
# (Mosquitto and InfluxDB, from Debian's packages), builds the binary the crash test runs, and runs every test.
# Tests start their own brokers on free ports and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages..."
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    # The packages' own services are not wanted: tests start their servers on free ports.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

start=$(date +%s)
cargo build --bin forewarn
cargo test --workspace
echo "test suite wall time (build included): $(( $(date +%s) - start )) s"
