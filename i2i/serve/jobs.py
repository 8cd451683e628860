"""The web page's work: each upload becomes a job that runs on a worker thread, so a long
upscale never blocks the page or other requests, and reports its progress as it goes.

A job translates its images with the run's one `Translator` (loaded once when the server
starts) under the requests `cli.requests_from_flags` makes from the form, exactly as
translate.py would from its flags, and writes full-resolution, full-bit-depth PNGs plus JPEG
previews into its own folder under one temporary folder. That folder is the only place the
server writes; old jobs are deleted as new ones arrive and everything goes at shutdown.
A bad image fails only its own entry, with the one-line message translate.py would print.
"""
from __future__ import annotations

import itertools
import logging
import re
import shutil
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..data.io import ImageData, image_size, to_numpy, write_image
from ..errors import UserError, one_line
from ..inference.translator import out_of_memory
from .gallery import thumbnail

log = logging.getLogger("i2i.serve")
PREVIEW = 1600  # px, longer side of the pictures the page shows (downloads are full size)


@dataclass
class Upload:
    name: str       # as the browser sent it (shown, never used as a path)
    path: Path      # where the server saved it


@dataclass
class Job:
    id: str
    run: str
    folder: Path
    state: str = "queued"                 # queued | running | done | failed
    progress: float = 0.0                 # 0..1
    message: str = ""
    results: list[dict] = field(default_factory=list)
    finished: float = 0.0

    def public(self) -> dict:
        return {"id": self.id, "run": self.run, "state": self.state, "progress": round(self.progress, 4),
                "message": self.message, "results": self.results}


def safe_name(name: str, fallback: str = "image") -> str:
    """A file name from a browser's upload name: its last component, plain characters only."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name.replace("\\", "/")).name).strip("._")
    return stem[:80] or fallback


class JobBoard:
    """Jobs by id; `workers` run at a time, the rest wait their turn."""

    def __init__(self, workers: int = 1, keep: int = 50, max_pixels: int = 16_000_000):
        self.root = Path(tempfile.mkdtemp(prefix="i2i-serve-"))
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="i2i-job")
        self.jobs: dict[str, Job] = {}
        self.keep, self.max_pixels = keep, max_pixels
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def new_job(self, run: str) -> Job:
        with self._lock:
            job_id = f"{next(self._ids):05d}"
            job = Job(job_id, run, self.root / job_id)
            job.folder.mkdir(parents=True)
            self.jobs[job_id] = job
            self._expire()
        return job

    def drop(self, job: Job) -> None:
        """A job refused before it ran: gone, with its uploads."""
        with self._lock:
            self.jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def _expire(self) -> None:
        """Forget (and delete) the oldest finished jobs beyond `keep`."""
        finished = sorted((j for j in self.jobs.values() if j.state in ("done", "failed")), key=lambda j: j.finished)
        for job in finished[:max(0, len(self.jobs) - self.keep)]:
            del self.jobs[job.id]
            shutil.rmtree(job.folder, ignore_errors=True)

    def submit(self, job: Job, work) -> None:
        """Run `work(job)` on a worker; whatever it raises ends the job with one line."""
        def run():
            job.state = "running"
            try:
                work(job)
                job.state = "done"
            except UserError as e:
                job.state, job.message = "failed", one_line(e)
            except Exception as e:  # a bug: the page gets one line, the console the traceback
                log.error("job %s failed:\n%s", job.id, traceback.format_exc())
                job.state, job.message = "failed", f"internal error ({type(e).__name__}: {one_line(e)}); see the server's console"
            job.progress, job.finished = 1.0, time.time()
        self.pool.submit(run)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------ the work itself
    def check_size(self, upload: Upload) -> None:
        """Refuse an image above max_pixels from its header, before decoding it."""
        w, h = image_size(upload.path)
        if w * h > self.max_pixels:
            raise UserError(f"{upload.name} is {w}x{h} ({w * h / 1e6:.1f} MP); this page takes images up to "
                            f"{self.max_pixels / 1e6:.0f} MP (python -m i2i serve --max-megapixels), or use "
                            f"translate.py, which has no limit")

    def picture(self, job: Job, rgb, name: str) -> str:
        """A JPEG preview of at most PREVIEW px in the job's folder; its URL."""
        path = job.folder / "preview" / f"{name}.jpg"
        thumbnail(rgb, path, PREVIEW)
        return self.url(job, path)

    def output(self, job: Job, label: str, full: Path, res: ImageData, preview: str) -> dict:
        """Write one output at full resolution and bit depth, with its preview; its entry for the page."""
        write_image(full, res.rgb, res.alpha, res.bits, res.icc)
        return {"label": label, "file": full.name, "url": self.url(job, full),
                "preview": self.picture(job, res.rgb, preview), "size": list(res.rgb.shape[1::-1]), "bits": res.bits}

    def url(self, job: Job, path: Path) -> str:
        return f"/files/{job.id}/{path.relative_to(job.folder).as_posix()}"

    def translate(self, job: Job, translator, uploads: list[Upload], requests: list, tile: int) -> None:
        """Each upload under each request; one entry per upload in job.results."""
        steps, done = max(1, len(uploads) * len(requests)), 0
        for k, up in enumerate(uploads):
            entry: dict = {"name": up.name, "outputs": []}
            job.results.append(entry)
            try:
                self.check_size(up)
                img = translator.read_input(up.path)
            except UserError as e:
                entry["error"] = one_line(e).replace(str(up.path), up.name)
                done += len(requests)
                job.progress = done / steps
                continue
            stem = f"{k:03d}_{Path(safe_name(up.name)).stem}"
            entry["input"] = self.picture(job, translator.as_picture(img), f"{stem}_input")
            entry["input_size"] = list(img.rgb.shape[1::-1])
            for suffix, request in requests:
                def progress(f, base=done):
                    job.progress = (base + f) / steps
                try:
                    res: ImageData = translator.translate_images([img], request, tile, 16, progress)[0]
                except (RuntimeError, MemoryError) as e:
                    if not out_of_memory(e):
                        raise
                    raise UserError(f"out of memory on {up.name}: choose a smaller tile size") from None
                name = f"{Path(safe_name(up.name)).stem}{suffix}.png"
                entry["outputs"].append(self.output(job, suffix.lstrip("_") or "output", job.folder / "out" / f"{k:03d}"
                                                    / name, res, f"{stem}{suffix}"))
                done += 1
                job.progress = done / steps

    def sample(self, job: Job, translator, request, n: int) -> None:
        """n pictures from a run that draws from noise (the `sample` command's draw)."""
        from ..inference.sampler import draw
        entry: dict = {"name": f"{n} sample(s)", "outputs": []}
        job.results.append(entry)
        images = draw(translator.pipeline, request, n, batch_size=16)
        for k, t in enumerate(images):
            res = ImageData(to_numpy(t), None, 8, None)
            entry["outputs"].append(self.output(job, f"seed {request.seed + k}", job.folder / "out" / f"sample_{k:05d}.png",
                                                res, f"sample_{k:05d}"))
            job.progress = (k + 1) / n
