"""Writing files so that nothing is ever half-written or lost.

Every file i2i writes (weights, resume state, sample grids, translated images, configs) goes
to a hidden temp file beside its destination and is renamed over it: a kill at any instant
leaves either the old file or the new one. The temp file gets the permissions a plain
`open(path, "w")` would (umask-respecting), not mkstemp's 0600. A failed write (disk full,
read-only folder) is one line naming the file.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Callable

from .errors import UserError

LIBRARY_TEMP = re.compile(r"\.tmp[A-Za-z0-9]{6}")  # what safetensors' own atomic save names its temp file
TEMP_TAG = ".i2i-tmp-"  # in every temp name, so a later start can find what a killed one left


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()


def _why(e: BaseException) -> str:
    if getattr(e, "strerror", None):
        return e.strerror
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def atomic_write(path, write: Callable[[str], None]) -> None:
    """`write(tmp_path)` fills a temp file that then replaces `path` in one rename."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_TAG}", suffix=path.suffix, dir=path.parent)
        os.close(fd)
    except OSError as e:
        raise UserError(f"cannot write {path}: {_why(e)}") from None
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~UMASK)
        os.replace(tmp, path)
    except UserError:
        raise
    except (OSError, RuntimeError) as e:  # torch.save and safetensors wrap OS errors in their own types
        raise UserError(f"cannot write {path}: {_why(e)}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text: str) -> None:
    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)
    atomic_write(path, write)


def remove_stale_temps(folder, legacy_prefixes: tuple[str, ...] = ()) -> list[Path]:
    """Delete temp files a killed process left in `folder` (they can be hundreds of MB);
    `legacy_prefixes` also match temp names written by older versions. safetensors >= 0.8 writes
    its own `.tmpXXXXXX` beside the file it saves (Rust's tempfile crate), which a kill leaves too."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if p.is_file() and p.name.startswith(".")
             and (TEMP_TAG in p.name or p.name.startswith(legacy_prefixes) or LIBRARY_TEMP.fullmatch(p.name))]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def writable_dir(path, flag: str) -> Path:
    """Create `path` if needed and prove it can hold files, before any work is done."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path} is a file, not a folder; choose a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".probe{TEMP_TAG}", dir=path)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise UserError(f"{flag} {path} is not writable: {_why(e)}") from None
    return path
