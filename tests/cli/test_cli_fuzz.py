"""Fuzzing the commands that read objects: mutated corpus objects may only produce clean errors.

Each mutant (seeded, reproducible) goes through ``ebpf inspect``, ``ebpf disasm``,
``ebpf verify`` and ``ebpf test-run --engine interp`` in-process. Allowed outcomes:
exit 0, or exit 1 with exactly one ``ebpf: error:`` line; never an internal error
(exit 70), a traceback, another exception or a hang. Each command gets a few
seconds; a failing mutant is saved so that it can be replayed by hand.
"""

from __future__ import annotations

import contextlib
import io
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ebpf.cli.main import main
from tests.conftest import CORPUS, compile_c

SOURCES = ["c_xdp_count.c", "c_socket_filter.c", "c_globals.c", "c_subprogs.c", "k_verifier_reject.c"]
SECONDS_PER_COMMAND = 2.5
PACKET = str(Path(__file__).with_name("packet64.bin"))
"""A 64-byte Ethernet/IPv4/UDP packet, so that XDP and socket-filter programs get to run."""
HANG_SECONDS = 20
COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "inspect": lambda p: ["inspect", "--json", p],
    "inspect-tables": lambda p: ["inspect", p],
    "disasm": lambda p: ["disasm", p],
    "verify": lambda p: ["verify", "--json", p],
    "test-run": lambda p: ["test-run", "--engine", "interp", "--budget", "20000", "--json", "-i", PACKET, p],
}


class _Hang(BaseException):
    """A command ran longer than HANG_SECONDS on one input."""


def _on_alarm(signum, frame):  # noqa: ANN001, ANN202
    raise _Hang


def run_in_process(argv: list[str]) -> tuple[int, str, str]:
    """``ebpf ARGV`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(HANG_SECONDS)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
    except _Hang:
        status, err = -1, io.StringIO(f"hang: more than {HANG_SECONDS} s")
    except SystemExit as exc:  # argparse usage errors
        status = exc.code if isinstance(exc.code, int) else 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return status, out.getvalue(), err.getvalue()


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random damage to an ELF object: byte flips, a truncation, a zeroed or duplicated run."""
    buf = bytearray(data)
    how = rng.randrange(6)
    if how == 0:  # a few random bytes anywhere
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif how == 1:  # the ELF header and section header table, where offsets and sizes live
        shoff = int.from_bytes(buf[0x28:0x30], "little")
        hot = [i for i in range(0x10, 0x40)] + list(range(min(shoff, len(buf) - 1), len(buf)))
        for _ in range(rng.randint(1, 4)):
            buf[rng.choice(hot)] = rng.randrange(256)
    elif how == 2:  # truncate
        del buf[rng.randrange(1, len(buf)):]
    elif how == 3:  # zero a run
        start = rng.randrange(len(buf))
        buf[start:start + rng.randint(1, 64)] = bytes(min(64, len(buf) - start))[:len(buf[start:start + 64])]
    elif how == 4:  # interesting values into a 4-byte field
        pos = rng.randrange(0, len(buf) - 4) & ~3
        buf[pos:pos + 4] = rng.choice([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, len(buf)]).to_bytes(4, "little")
    else:  # bit flips
        for _ in range(rng.randint(1, 16)):
            pos = rng.randrange(len(buf))
            buf[pos] ^= 1 << rng.randrange(8)
    return bytes(buf)


def judge(argv: list[str], status: int, stdout: str, stderr: str) -> str | None:
    """Why this outcome is not allowed, or None."""
    if status == 0:
        return None if "Traceback" not in stderr else "a traceback on success"
    if status != 1:
        return f"exit status {status}"
    lines = stderr.splitlines()
    if argv[0] == "verify" and not stderr and stdout:
        return None  # a rejection: the verdict is data on stdout, exit status 1
    if "Traceback" in stderr or "internal error" in stderr:
        return "internal error / traceback"
    if len(lines) != 1 or not lines[0].startswith("ebpf: error: "):
        return "stderr is not one 'ebpf: error:' line"
    if argv[0] != "verify" and stdout:
        return "output on stdout with a failure"
    return None


@pytest.fixture(scope="module")
def corpus_objects(object_cache) -> list[bytes]:
    """The seeds: a few corpus programs compiled by clang."""
    return [compile_c(CORPUS / name, out_dir=object_cache).read_bytes() for name in SOURCES]


@pytest.mark.clang
@pytest.mark.parametrize("command", list(COMMANDS))
def test_mutated_objects_give_clean_errors(command: str, corpus_objects: list[bytes], tmp_path: Path) -> None:
    rng = random.Random(f"ebpf-cli-fuzz-{command}")
    deadline = time.monotonic() + SECONDS_PER_COMMAND
    failures: list[str] = []
    tried = 0
    while time.monotonic() < deadline and len(failures) < 3:
        seed = corpus_objects[tried % len(corpus_objects)]
        mutant = mutate(seed, rng)
        path = tmp_path / f"mutant-{tried}.o"
        path.write_bytes(mutant)
        argv = COMMANDS[command](str(path))
        status, out, err = run_in_process(argv)
        problem = judge(argv, status, out, err)
        if problem:
            failures.append(f"{problem}: ebpf {' '.join(argv)}\n{err[-1500:]}")
        else:
            path.unlink()
        tried += 1
    assert tried >= 5, "too few mutants ran to mean anything"
    assert not failures, f"{len(failures)} of {tried} mutants misbehaved:\n" + "\n".join(failures)


@pytest.mark.parametrize("command", ["disasm", "test-run", "verify"])
def test_random_bytecode_gives_clean_errors(command: str, tmp_path: Path) -> None:
    """Raw bytecode of random instructions (no clang needed)."""
    rng = random.Random(f"ebpf-cli-bytecode-{command}")
    deadline = time.monotonic() + SECONDS_PER_COMMAND / 2
    failures: list[str] = []
    tried = 0
    while time.monotonic() < deadline and len(failures) < 3:
        slots = rng.randint(1, 40)
        code = bytearray()
        for _ in range(slots):  # mostly plausible opcodes, so that some programs run for a while
            opcode = rng.choice([0x07, 0xB7, 0xBF, 0x61, 0x79, 0x63, 0x7B, 0x05, 0x15, 0x85, 0x95, 0x18,
                                 rng.randrange(256)])
            regs = rng.randrange(256) if rng.random() < 0.2 else (rng.randrange(11) | rng.randrange(11) << 4)
            code += bytes([opcode, regs]) + rng.randrange(-64, 64).to_bytes(2, "little", signed=True)
            code += rng.choice([0, 1, 5, 8, -8, 0x1000, rng.randrange(-2**31, 2**31)]).to_bytes(4, "little",
                                                                                                 signed=True)
        path = tmp_path / f"random-{tried}.bin"
        path.write_bytes(bytes(code))
        argv = {"disasm": ["disasm", str(path)],
                "test-run": ["test-run", "--budget", "20000", str(path)],
                "verify": ["verify", "--type", "socket_filter", str(path)]}[command]
        status, out, err = run_in_process(argv)
        problem = judge(argv, status, out, err)
        if problem:
            failures.append(f"{problem}: ebpf {' '.join(argv)}\n{err[-1500:]}")
        else:
            path.unlink()
        tried += 1
    assert not failures, f"{len(failures)} of {tried} programs misbehaved:\n" + "\n".join(failures)
