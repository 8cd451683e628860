"""What the quality benchmarks share: the real photographs they train and test on
(nothing is committed), and running one CLI step with its output kept in a log.

`--photos DIR` (every benchmark that needs real photos takes it; default
/tmp/i2i_real_photos) is a folder made by `benchmarks/get_photos.py DIR`: ~30 photographs
(DIR/photos) and ~110 video frames (DIR/frames) from OpenCV's sample data. When DIR does not
hold them yet, get_photos.py is run to fill it. TEST are the held-out photos every benchmark
scores on; near-duplicates of them (aloeL/aloeR, graf1/graf3, ...) never train.

    python benchmarks/real_photos.py [--photos DIR]     # fetch if needed, print the split
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from i2i.data.io import list_images  # noqa: E402

GET_PHOTOS = ROOT / "benchmarks" / "get_photos.py"
DEFAULT_PHOTOS = "/tmp/i2i_real_photos"

# Held-out test photos: single shots, varied content (animal fur, fruit, people, insects, ...).
TEST = ["baboon", "butterfly", "fruits", "home", "messi5", "orange", "smarties", "squirrel_cls"]


# the two generator settings every translation benchmark compares
SETTINGS = {
    "paper": ["model.generator.residual=false", "model.generator.upsample=transpose"],
    "do-no-harm": ["model.generator.residual=true", "model.generator.upsample=resize"],
}


def load_scaled(path: Path, short_side: int) -> np.ndarray:
    """RGB float in [0, 1], shrunk (never enlarged) so its shorter side is `short_side`."""
    from PIL import Image
    img = Image.open(path).convert("RGB")
    s = short_side / min(img.size)
    if s < 1:
        img = img.resize((round(img.width * s), round(img.height * s)), Image.LANCZOS)
    return np.asarray(img).astype(np.float32) / 255.0


def family(name: str) -> str:
    """aloeL/aloeR, graf1/graf3, leuvenA/leuvenB ... are near-duplicates: one family."""
    return re.sub(r"(\d+|[LRAB])$", "", name)


def add_photos_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--photos", default=DEFAULT_PHOTOS, metavar="DIR",
                    help="real photos as written by benchmarks/get_photos.py DIR (DIR/photos, DIR/frames); "
                         f"fetched there when missing (default {DEFAULT_PHOTOS})")


def save(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)).save(path)


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(np.float64) / 255.0


def images_per_second(log: Path) -> float:
    """The trainer's own figure (every image a step reads, start-up excluded) from train.py's last line."""
    m = re.findall(r"done: step \d+, ([\d.]+) images/s", log.read_text())
    if not m:
        raise RuntimeError(f"no 'done: ... images/s' line in {log}")
    return float(m[-1])


def fetch_photos(folder: Path) -> tuple[list[Path], list[Path]]:
    """(photos, video frames) from `folder`; benchmarks/get_photos.py fills it on first use."""
    photos, frames = folder / "photos", folder / "frames"
    if not (photos.is_dir() and len(list_images(photos)) >= 20 and frames.is_dir() and list_images(frames)):
        print(f"getting real photos into {folder} (benchmarks/get_photos.py) ...", flush=True)
        subprocess.run([sys.executable, str(GET_PHOTOS), str(folder)], check=True)
    return list_images(photos), list_images(frames)


def split(photos: list[Path]) -> tuple[list[Path], list[Path]]:
    """(train photos, test photos): no family of a test photo trains."""
    test = [p for p in photos if p.stem in TEST]
    missing = set(TEST) - {p.stem for p in test}
    if missing:
        raise SystemExit(f"test photos missing: {sorted(missing)}")
    test_families = {family(n) for n in TEST}
    return [p for p in photos if family(p.stem) not in test_families], test


def deal(train_photos: list[Path], frames: list[Path], names: list[str]) -> dict[str, list[Path]]:
    """Disjoint training images for each of `names`: photo families dealt greedily (largest first, to the
    domain with the fewest photos so far), each video cut in time into len(names) stretches
    (the stretch order rotates from video to video so every domain gets a first stretch once)."""
    groups: dict[str, list[Path]] = {d: [] for d in names}
    families: dict[str, list[Path]] = {}
    for p in sorted(train_photos):
        families.setdefault(family(p.stem), []).append(p)
    for _, members in sorted(families.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        target = min(groups, key=lambda d: len(groups[d]))
        groups[target] += members
    videos: dict[str, list[Path]] = {}
    for f in sorted(frames):
        videos.setdefault(f.stem.rsplit("_", 1)[0], []).append(f)
    for v, (_, stretch) in enumerate(sorted(videos.items())):
        for k, part in enumerate(np.array_split(np.arange(len(stretch)), len(names))):
            groups[names[(k + v) % len(names)]] += [stretch[i] for i in part]
    return groups


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


def run_logged_parallel(jobs: list[tuple[list[str], Path]], poll: float = 0.5, at_once: int = 0) -> list[float]:
    """Run several CLI commands in the repo, each with its output in its own log (give each its
    own thread count, e.g. OMP_NUM_THREADS=1 / train.threads=1), at most `at_once` at a time (0:
    all at once; the next starts as soon as one ends); returns each one's own seconds. If one
    fails, the others are stopped (SIGTERM) and the error shows the failed log's tail; Ctrl-C
    stops them all too."""
    at_once = at_once or len(jobs)
    procs, files, started = {}, {}, {}
    secs = [0.0] * len(jobs)
    waiting = list(range(len(jobs)))
    try:
        while waiting or procs:
            while waiting and len(procs) < at_once:
                i = waiting.pop(0)
                cmd, log = jobs[i]
                files[i] = open(log, "w")
                started[i] = time.time()
                procs[i] = subprocess.Popen(cmd, cwd=ROOT, stdout=files[i], stderr=subprocess.STDOUT)
            for i in sorted(procs):
                rc = procs[i].poll()
                if rc is None:
                    continue
                del procs[i]
                secs[i] = time.time() - started[i]
                files.pop(i).close()
                if rc:
                    cmd, log = jobs[i]
                    tail = "".join(Path(log).read_text().splitlines(keepends=True)[-20:])
                    raise RuntimeError(f"command failed ({rc}): {' '.join(cmd)}\n{tail}")
            if procs:
                time.sleep(poll)
        return secs
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
        for f in files.values():
            f.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Fetch the benchmarks' real photos if needed and print the "
                                             "train / held-out split.")
    add_photos_argument(ap)
    a = ap.parse_args(argv)
    photos, frames = fetch_photos(Path(a.photos))
    train, test = split(photos)
    print(f"{a.photos}: {len(photos)} photos, {len(frames)} video frames")
    print(f"held out ({len(test)}): {', '.join(p.stem for p in test)}")
    print(f"photos that may train ({len(train)}): {', '.join(p.stem for p in train)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
