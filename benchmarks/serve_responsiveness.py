#!/usr/bin/env python
"""Does the web page stay responsive during a long job, and does the job report progress?

    python benchmarks/serve_responsiveness.py RUN [--photo FILE] [--megapixels 12] [--tile 256] [--port 7862]

Starts `python -m i2i serve RUN` as a user would, uploads one photo scaled to --megapixels
(default: skimage's astronaut), and while the job runs polls it every 0.5 s and times the
page's other requests (GET /api/runs, GET /). Prints the job's time, how many distinct
progress values it reported, and the median / largest response time of the other requests.
RUN: a super-resolution run for the "12 MP upscale" case, e.g. checkpoints/demo_esrgan.
"""
from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def photo(path: str | None, megapixels: float) -> bytes:
    if path:
        im = Image.open(path).convert("RGB")
    else:
        from skimage import data
        im = Image.fromarray(data.astronaut())
    scale = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92)
    print(f"input: {im.width}x{im.height} ({im.width * im.height / 1e6:.1f} MP), {len(buf.getvalue()) / 2**20:.1f} MB JPEG")
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("--photo")
    ap.add_argument("--megapixels", type=float, default=12)
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--port", type=int, default=7862)
    a = ap.parse_args()
    url = f"http://127.0.0.1:{a.port}"
    server = subprocess.Popen([sys.executable, "-m", "i2i", "serve", a.run, "--port", str(a.port),
                               "--max-megapixels", str(max(16, a.megapixels + 1))], cwd=ROOT)
    try:
        with httpx.Client(base_url=url, timeout=60) as c:
            for _ in range(300):
                try:
                    runs = c.get("/api/runs").json()["runs"]
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            body = photo(a.photo, a.megapixels)
            t0 = time.perf_counter()
            answer = c.post("/api/jobs", data={"run": runs[0]["id"], "tile": str(a.tile)},
                            files=[("files", ("photo.jpg", body, "image/jpeg"))])
            answer.raise_for_status()
            job_id = answer.json()["id"]
            progress, latency = [], []
            while True:
                for path in ("/api/runs", "/"):
                    t = time.perf_counter()
                    c.get(path).raise_for_status()
                    latency.append(time.perf_counter() - t)
                job = c.get(f"/api/jobs/{job_id}").json()
                progress.append(job["progress"])
                if job["state"] in ("done", "failed"):
                    break
                time.sleep(0.5)
            total = time.perf_counter() - t0
            out = job["results"][0]
            if job["state"] != "done" or out.get("error"):
                print(f"job failed: {job['message'] or out.get('error')}")
                return 1
            w, h = out["outputs"][0]["size"]
            print(f"job: {total:.1f} s for a {w}x{h} ({w * h / 1e6:.0f} MP) output; {len(set(progress))} distinct "
                  f"progress values over {len(progress)} polls")
            print(f"other requests during the job: {len(latency)}, median {statistics.median(latency) * 1000:.0f} ms, "
                  f"largest {max(latency) * 1000:.0f} ms")
    finally:
        server.terminate()
        server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
