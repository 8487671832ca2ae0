#!/usr/bin/env bash
# The main job: the eBPF workflow on the real kernel, end to end. The C program of
# every eBPF introduction (examples/syscall_count.c, BCC style) is compiled with
# clang, loaded through bpf(), attached to execve, and a command that starts a few
# processes runs under it; then the per-PID counts are printed. Needs root.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
exec .venv/bin/ebpf run examples/syscall_count.c --attach trace_syscall=syscall:execve \
    -- sh -c 'for i in 1 2 3; do ls / >/dev/null; date >/dev/null; done; echo "ran 6 commands"'
