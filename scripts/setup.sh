#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: system packages (clang, LLVM, libbpf headers,
# bpftool, BCC for comparisons), then a virtualenv in .venv with the package and its
# dev extras installed in editable mode. Safe to run again; does little the second time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

packages=(clang clang-19 llvm libbpf-dev bpftool bpftrace python3-bpfcc iproute2 linux-perf gcc binutils systemtap-sdt-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
stamp=".venv/.ebpf-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    if ! .venv/bin/python -m pip install -q -e ".[dev]" >.venv/pip.log 2>&1; then
        cat .venv/pip.log >&2
        exit 1
    fi
    touch "$stamp"
fi

# Byte-compile the package once: the conformance plugin starts once per test, and
# PYTHONDONTWRITEBYTECODE=1 (set on some machines) would otherwise recompile it every time.
.venv/bin/python -m compileall -q src >/dev/null 2>&1 || true

# bpffs for pinning, as libbpf-based tools expect.
if [ "$(id -u)" = 0 ] && ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
    mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi
