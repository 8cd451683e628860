"""What the two quality benchmarks share: the real photographs they train and test on
(nothing is committed), and running one CLI step with its output kept in a log.

`../shared/data/real_photos.py` unpacks ~30 photographs and ~110 video frames from Debian's
opencv-doc package into a cache folder. TEST are the held-out photos every benchmark scores
on; near-duplicates of them (aloeL/aloeR, graf1/graf3, ...) never train.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from i2i.data.io import list_images  # noqa: E402

FETCH = Path("/work/shared/data/real_photos.py")
if not FETCH.exists():  # the shared folder beside the checkout
    FETCH = ROOT.parent / "shared" / "data" / "real_photos.py"

# Held-out test photos: single shots, varied content (animal fur, fruit, people, insects, ...).
TEST = ["baboon", "butterfly", "fruits", "home", "messi5", "orange", "smarties", "squirrel_cls"]


def family(name: str) -> str:
    """aloeL/aloeR, graf1/graf3, leuvenA/leuvenB ... are near-duplicates: one family."""
    return re.sub(r"(\d+|[LRAB])$", "", name)


def fetch_photos(cache: Path) -> tuple[list[Path], list[Path]]:
    """(photos, video frames), unpacked into `cache` on first use."""
    photos, frames = cache / "photos", cache / "frames"
    if not (photos.is_dir() and len(list_images(photos)) >= 20 and frames.is_dir()):
        print(f"fetching real photos into {cache} ...", flush=True)
        subprocess.run([sys.executable, str(FETCH), str(cache)], check=True)
    return list_images(photos), list_images(frames)


def split(photos: list[Path]) -> tuple[list[Path], list[Path]]:
    """(train photos, test photos): no family of a test photo trains."""
    test = [p for p in photos if p.stem in TEST]
    missing = set(TEST) - {p.stem for p in test}
    if missing:
        raise SystemExit(f"test photos missing: {sorted(missing)}")
    test_families = {family(n) for n in TEST}
    return [p for p in photos if family(p.stem) not in test_families], test


def run_logged(cmd: list[str], log: Path) -> float:
    """Run a CLI command in the repo, its output to `log`; returns seconds; raises with the
    log's tail on failure."""
    t0 = time.time()
    with open(log, "w") as f:
        rc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc:
        tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
        raise RuntimeError(f"command failed ({rc}): {' '.join(cmd)}\n{tail}")
    return time.time() - t0
