"""Where a process runs: the device, and how many CPU threads it may use.

Shared by training and inference (so inference never imports the trainer).

Memory: glibc's malloc hands large freed blocks back to the kernel, and the next block of that
size is page-faulted in again, zeroed page by page. A training step allocates and frees the same
buffers every step (Winograd's 19 MB transformed weights, activations); a CycleGAN step at the
reference's settings page-faulted 16,000 times (58 ms of kernel time in a ~0.75 s step), and
none once `keep_freed_memory` asks malloc to keep them for reuse.

Threads: PyTorch's OpenMP threads spin-wait for one another, so two processes that each
take every core of a machine run far slower than two processes with half the cores each
(0.91 vs 23.4 img/s measured with two processes on 2 cores). `threads = 0` therefore divides
the cores among the i2i processes already running; an explicit OMP_NUM_THREADS or a
positive count wins.
"""
from __future__ import annotations

import ctypes
import os
import platform
import sys
from pathlib import Path

import torch

from .errors import UserError

ENTRY_POINTS = ("train.py", "translate.py")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {name} requested but no CUDA device is available (use --device cpu or auto)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device '{name}' (use auto, cpu, cuda or cuda:N)") from None


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _cmdline(pid: str) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _parent(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except (OSError, IndexError):
        return ""


def is_i2i_command(argv: list[str]) -> bool:
    if any(a.endswith(ENTRY_POINTS) for a in argv[:3]):
        return True
    return any(a == "-m" and b.split(".")[0] == "i2i" for a, b in zip(argv, argv[1:]))


def other_i2i_processes() -> int:
    """i2i processes besides this one; data-loader workers (forks with their parent's command
    line) are part of their parent, not counted."""
    if not Path("/proc").is_dir():
        return 0
    me = str(os.getpid())
    mine = _cmdline(me)
    ours = {p for p in os.listdir("/proc") if p.isdigit() and p != me and is_i2i_command(_cmdline(p))}
    workers = {p for p in ours if _parent(p) in ours or (_parent(p) == me and _cmdline(p) == mine)}
    return len(ours - workers)


def choose_threads(requested: int, cores: int, others: int, env: str | None) -> int:
    """requested > 0 wins; then OMP_NUM_THREADS; then the cores shared among the i2i processes."""
    if requested > 0:
        return requested
    if env and env.strip().isdigit() and int(env) > 0:
        return int(env)
    return max(1, cores // (others + 1))


# glibc's mallopt parameters, and what keep_freed_memory sets them to
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
KEEP = {M_MMAP_THRESHOLD: 32 << 20,  # blocks up to 32 MB (glibc's largest) come from the heap...
        M_TRIM_THRESHOLD: 2 ** 31 - 1,  # ...which is not shrunk back to the kernel below 2 GB free
        M_TOP_PAD: 64 << 20}         # and grows 64 MB at a time
MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory() -> bool:
    """Let this process reuse the memory it frees instead of returning it to the kernel (the
    resident size then stays at its high-water mark, which a training loop reaches every step
    anyway). True where it was set: glibc on Linux, unless the user tuned malloc through its
    MALLOC_*_ environment variables."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    if any(v in os.environ for v in MALLOC_ENV):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in KEEP.items())


def set_threads(requested: int = 0) -> str:
    """Set torch's intra-op threads; returns a note for the start line when cores are shared."""
    cores, others = cpu_count(), (other_i2i_processes() if requested <= 0 else 0)
    n = choose_threads(requested, cores, others, os.environ.get("OMP_NUM_THREADS"))
    torch.set_num_threads(n)
    if others and requested <= 0 and not os.environ.get("OMP_NUM_THREADS"):
        return f"{n} CPU thread(s): {others} other i2i process(es) share the {cores} cores (set train.threads to override)"
    return ""
