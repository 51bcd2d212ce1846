#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need when it is missing
# (Mosquitto, InfluxDB, PostgreSQL, Chromium and a CJK font from Debian's packages, schemathesis
# from PyPI in its own virtualenv), builds the binary the crash test runs, and runs every test — the maintenance tests
# twice: on SQLite, then on a PostgreSQL server they start themselves on a free port.
# Tests start their own brokers on free ports and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
# PostgreSQL server binaries (initdb, postgres): the maintenance tests run on it too.
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
# Headless Chromium for the dashboards' browser test, and a CJK font so the Chinese pages'
# screenshots show characters rather than boxes.
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-zenhei)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages..."
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    # The packages' own services are not wanted: tests start their servers on free ports.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# schemathesis, for the OpenAPI conformance test: a pinned version in a virtualenv of its own.
# The newest Python there is: CPython 3.11's ast module crashes under Hypothesis now and then
# ("AST constructor recursion depth mismatch"), which schemathesis reports as a runtime error.
if [ -z "${FOREWARN_SCHEMATHESIS:-}" ]; then
    python=python3
    pyenv_newest=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V | tail -n 1)
    for candidate in python3.14 python3.13 python3.12 $pyenv_newest; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c pass >/dev/null 2>&1; then
            python=$candidate
            break
        fi
    done
    venv="${XDG_CACHE_HOME:-$HOME/.cache}/forewarn/schemathesis-4.32.5-$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if [ ! -x "$venv/bin/schemathesis" ]; then
        echo "installing schemathesis from PyPI into $venv..."
        if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
            sudo=""
            [ "$(id -u)" -ne 0 ] && sudo="sudo"
            $sudo apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
            rm -rf "$venv"
            "$python" -m venv "$venv"
        fi
        "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==4.32.5"
    fi
    export FOREWARN_SCHEMATHESIS="$venv/bin/schemathesis"
fi

start=$(date +%s)
cargo build --bin forewarn
cargo test --workspace
FOREWARN_TEST_POSTGRES=1 cargo test -p forewarn-maintenance
echo "test suite wall time (build included): $(( $(date +%s) - start )) s"
