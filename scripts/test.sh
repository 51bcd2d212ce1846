#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need when it is missing
# (Mosquitto and InfluxDB from Debian's packages, schemathesis from PyPI in its own virtualenv),
# builds the binary the crash test runs, and runs every test.
# Tests start their own brokers on free ports and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages..."
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    # The packages' own services are not wanted: tests start their servers on free ports.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# schemathesis, for the OpenAPI conformance test: a pinned version in a virtualenv of its own.
if [ -z "${FOREWARN_SCHEMATHESIS:-}" ]; then
    venv="${XDG_CACHE_HOME:-$HOME/.cache}/forewarn/schemathesis-4.32.5"
    if [ ! -x "$venv/bin/schemathesis" ]; then
        echo "installing schemathesis from PyPI into $venv..."
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            sudo=""
            [ "$(id -u)" -ne 0 ] && sudo="sudo"
            $sudo apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
            rm -rf "$venv"
            python3 -m venv "$venv"
        fi
        "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==4.32.5"
    fi
    export FOREWARN_SCHEMATHESIS="$venv/bin/schemathesis"
fi

start=$(date +%s)
cargo build --bin forewarn
cargo test --workspace
echo "test suite wall time (build included): $(( $(date +%s) - start )) s"
