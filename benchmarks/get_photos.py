#!/usr/bin/env python
"""Get the real photographs the quality benchmarks train and test on.

    python benchmarks/get_photos.py OUT_DIR [--deb opencv-doc_....deb]

The photos are OpenCV's sample data, which Debian and Ubuntu ship in the `opencv-doc`
package (about 95 MB). The package is fetched with `apt-get download` (no root needed;
if the machine has no package lists yet, `apt-get update -qq` runs first, which does) and
unpacked with `dpkg -x` into a temporary folder; nothing is installed. Written:

    OUT_DIR/photos/NAME.png          the ~30 sample photographs, at their own size
    OUT_DIR/frames/VIDEO_NNNN.png    every 8th frame of the sample videos vtest.avi
                                     (a street scene) and tree.avi

Pass the OUT_DIR to the benchmarks as `--photos OUT_DIR`. Files already there are kept,
so running it again is cheap. Nothing here is committed to the repository (licence: see
the package's copyright file, /usr/share/doc/opencv-doc/copyright inside the .deb).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

PACKAGE = "opencv-doc"
DATA = Path("usr/share/doc/opencv-doc/examples/data")  # inside the unpacked package
PHOTOS = ("HappyFish aero1 aero3 aloeL aloeR apple baboon basketball1 basketball2 board box_in_scene "
          "building butterfly ela_original fruits graf1 graf3 home leuvenA leuvenB licenseplate_motion "
          "messi5 orange rubberwhale1 rubberwhale2 smarties squirrel_cls stuff").split()
VIDEOS = ("vtest.avi", "tree.avi")
EVERY = 8  # frame stride: consecutive frames are near-duplicates


def download(folder: Path) -> Path:
    """`apt-get download` the package into `folder`; returns the .deb."""
    cmd = ["apt-get", "download", "-q", PACKAGE]
    try:
        if subprocess.run(cmd, cwd=folder).returncode:
            print("apt-get download failed; refreshing the package lists (apt-get update -qq) and retrying",
                  flush=True)
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(cmd, cwd=folder, check=True)
    except FileNotFoundError:
        sys.exit("apt-get not found: on a system without apt, download the opencv-doc .deb from "
                 "packages.debian.org by hand and pass it with --deb")
    except subprocess.CalledProcessError as e:
        sys.exit(f"could not download {PACKAGE}: {' '.join(e.cmd)} exited with {e.returncode}")
    debs = sorted(folder.glob(f"{PACKAGE}_*.deb"))
    if not debs:
        sys.exit(f"apt-get download left no {PACKAGE}_*.deb in {folder}")
    return debs[-1]


def unpack(deb: Path, folder: Path) -> Path:
    """Extract the package's files (no install) and return its sample-data folder."""
    subprocess.run(["dpkg", "-x", str(deb), str(folder)], check=True)
    data = folder / DATA
    if not data.is_dir():
        sys.exit(f"{deb} has no {DATA}; is it the {PACKAGE} package?")
    return data


def write_photos(data: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    written, missing = 0, []
    for name in PHOTOS:
        dst = out / f"{name}.png"
        if dst.exists():
            continue
        src = next((p for p in sorted(data.glob(f"{name}.*")) if p.suffix.lower() in (".jpg", ".png", ".tif")), None)
        img = None if src is None else cv2.imread(str(src), cv2.IMREAD_COLOR)
        if img is None:
            missing.append(name)
            continue
        cv2.imwrite(str(dst), img)
        written += 1
    if missing:
        print(f"not in this package version (skipped): {', '.join(missing)}")
    return written


def write_frames(data: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for video in VIDEOS:
        cap = cv2.VideoCapture(str(data / video))
        if not cap.isOpened():
            print(f"cannot read {video} (skipped)")
            continue
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            dst = out / f"{Path(video).stem}_{index:04d}.png"
            if index % EVERY == 0 and not dst.exists():
                cv2.imwrite(str(dst), frame)
                written += 1
            index += 1
        cap.release()
    return written


def have_photos(out: Path) -> bool:
    """True when OUT_DIR already holds every photo and some frames of each video."""
    return (all((out / "photos" / f"{n}.png").exists() for n in PHOTOS)
            and all(any((out / "frames").glob(f"{Path(v).stem}_*.png")) for v in VIDEOS))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 3)[3])
    ap.add_argument("out", metavar="OUT_DIR", help="writes OUT_DIR/photos and OUT_DIR/frames")
    ap.add_argument("--deb", help=f"an already downloaded {PACKAGE}_*.deb (skips apt-get)")
    a = ap.parse_args(argv)
    out = Path(a.out)
    if have_photos(out):
        print(f"{out}: photos and frames already there")
        return 0
    with tempfile.TemporaryDirectory(prefix="i2i_photos_") as tmp:
        tmp = Path(tmp)
        deb = Path(a.deb) if a.deb else download(tmp)
        data = unpack(deb, tmp / "unpacked")
        n_photos = write_photos(data, out / "photos")
        n_frames = write_frames(data, out / "frames")
    print(f"wrote {n_photos} photos to {out / 'photos'} and {n_frames} frames to {out / 'frames'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
