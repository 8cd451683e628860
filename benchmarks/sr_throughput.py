#!/usr/bin/env python
"""Super-resolution throughput and peak memory, whole image vs. tiled, as photos grow.

    python benchmarks/sr_throughput.py                       # 1, 4, 12, 48 MP outputs, x4
    python benchmarks/sr_throughput.py --sizes 1 4 --ngf 64 --blocks 23   # the full ESRGAN RRDB

Each (size, mode) runs in its own subprocess so peak RSS (ru_maxrss) never mixes. What is
timed is Translator.translate_tensor plus the conversion to an image array: the network, the
padding, the tile blending, not file I/O. A random-weight RRDB of the given width/depth
stands in for a trained one (the cost does not depend on the weights).

Memory columns: `peak` is the process's peak RSS; `images` the input and output arrays that
any method must hold (float32); `work` = peak - (RSS before the call) - images: what the
method itself needs (the output counts twice: the network's tensor and the image array made
from it). With tiling `work` should stay flat as the image grows; without it,
it grows with the image. A run over --limit-gib of address space fails cleanly and is
reported as such (48 MP without tiling needs far more than this machine has).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from throughput import maxrss_mib  # noqa: E402  (peak RSS, as the translation benchmark reads it)

SIZES = {1: (250, 250), 4: (500, 500), 12: (1000, 750), 48: (2000, 1500)}  # output MP -> LR input (w, h) at x4


def one(mp: int, tile: int, ngf: int, blocks: int, threads: int) -> dict:
    import torch

    from i2i import config
    from i2i.data.io import to_numpy
    from i2i.inference import Translator
    from i2i.pipelines import build_pipeline
    torch.set_num_threads(threads)
    cfg = config.load("esrgan-psnr", [f"model.generator.ngf={ngf}", f"model.generator.num_blocks={blocks}"])
    tr = Translator(build_pipeline(cfg, training=False), cfg, torch.device("cpu"))
    w, h = SIZES[mp]
    tr.translate_tensor(torch.rand(1, 3, 40, 40) * 2 - 1, tile=tile)  # warm-up
    x = torch.rand(1, 3, h, w) * 2 - 1
    before = maxrss_mib()
    t0 = time.perf_counter()
    out = to_numpy(tr.translate_tensor(x, tile=tile, overlap=16)[0])
    secs = time.perf_counter() - t0
    images = (x.numel() + 2 * out.size) * 4 / 2 ** 20  # input, output tensor, image array
    return {"secs": secs, "peak": maxrss_mib(), "before": before, "images": images,
            "in_mp": w * h / 1e6, "out_mp": out.shape[0] * out.shape[1] / 1e6}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 12, 48], choices=list(SIZES))
    ap.add_argument("--tile", type=int, default=256, help="tile size in input pixels for the tiled runs")
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit-gib", type=float, default=18.0, help="address-space cap per run")
    ap.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        limit = int(a.limit_gib * 2 ** 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            print("RESULT " + json.dumps(one(a.one[0], a.one[1], a.ngf, a.blocks, a.threads)))
        except (RuntimeError, MemoryError) as e:
            print("RESULT " + json.dumps({"error": str(e).splitlines()[0][:80]}))
        return 0
    print(f"x4 RRDB ngf {a.ngf}, {a.blocks} blocks (random weights), CPU {a.threads} threads; "
          f"tiles of {a.tile} input px, overlap 16")
    print(f"{'output':>7} {'mode':<10} {'seconds':>8} {'MP/s in':>8} {'MP/s out':>9} {'peak MiB':>9} "
          f"{'images MiB':>10} {'work MiB':>9}")
    for mp in a.sizes:
        for tile, mode in ((0, "whole"), (a.tile, "tiled")):
            cmd = [sys.executable, __file__, "--one", str(mp), str(tile), "--ngf", str(a.ngf), "--blocks",
                   str(a.blocks), "--threads", str(a.threads), "--limit-gib", str(a.limit_gib)]
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
            r = json.loads(line[7:]) if line else {"error": (p.stderr.strip().splitlines() or ["killed"])[-1][:80]}
            if "error" in r:
                print(f"{mp:>5}MP {mode:<10} failed: {r['error']}", flush=True)
                continue
            work = r["peak"] - r["before"] - r["images"]
            print(f"{mp:>5}MP {mode:<10} {r['secs']:>8.1f} {r['in_mp'] / r['secs']:>8.3f} "
                  f"{r['out_mp'] / r['secs']:>9.2f} {r['peak']:>9.0f} {r['images']:>10.0f} {max(work, 0):>9.0f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
