"""`python -m i2i serve RUN [RUN ...]`: a local web page to try trained runs on your own images.

A small Starlette app served by uvicorn, with one plain HTML page (page.html: no front-end
build, no files from elsewhere). Chosen over Gradio: three small, well-kept dependencies
instead of a large framework, and every behaviour the page needs (size caps, one-line
messages, jobs that report progress) is a few lines here rather than a framework setting.

The page asks /api/runs what each run offers (the options `python -m i2i info` lists), posts
images with the chosen condition to /api/jobs and polls the job. Form fields become the same
requests translate.py makes from its flags (`cli.requests_from_flags`), run by the same
`Translator`, loaded once per run at start. Safe by default: 127.0.0.1 only, uploads capped
in bytes (before reading them) and in pixels (from the header, before decoding), every user
mistake answered with one line on the page, writes only under one temporary folder.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
from importlib import resources
from pathlib import Path

from ..errors import UserError, one_line

log = logging.getLogger("i2i.serve")
MB = 2 ** 20
MAX_SAMPLES = 64


def serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m i2i serve", description=(
        "A local web page to try trained runs: drop images (or label maps), pick what the run offers, see input "
        "and output side by side and download the full-resolution outputs."))
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders (checkpoints/NAME), .safetensors checkpoints "
                   "or exported .onnx files")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine "
                   "only; 0.0.0.0 opens the page to your network)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--device", default="auto")
    p.add_argument("--max-upload-mb", type=float, default=100, help="largest request, all files together "
                   "(default 100)")
    p.add_argument("--max-megapixels", type=float, default=16, help="largest image the page translates "
                   "(default 16; translate.py has no limit)")
    p.add_argument("--workers", type=int, default=1, help="jobs run at the same time (default 1; the rest queue)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = auto)")
    return p


class Runs:
    """The runs the page offers, each loaded once: id -> (source, Translator)."""

    def __init__(self, sources: list[str], device: str):
        from ..inference import Translator
        self.items: dict[str, tuple[str, object]] = {}
        for src in sources:
            path = Path(src)
            # checkpoints/NAME, checkpoints/NAME/weights/latest.safetensors -> NAME; FILE.onnx -> FILE
            name = path.parent.parent.name if path.parent.name == "weights" else path.stem if path.is_file() else path.name
            rid, k = name, 2
            while rid in self.items:
                rid, k = f"{name}-{k}", k + 1
            self.items[rid] = (src, Translator.from_run(src, device))

    def get(self, rid: str):
        if rid not in self.items:
            raise UserError(f"unknown run {rid!r}; this server has: {', '.join(self.items)}")
        return self.items[rid][1]

    def describe(self) -> list[dict]:
        out = []
        for rid, (src, tr) in self.items.items():
            p = tr.pipeline
            out.append({"id": rid, "source": src, "pipeline": tr.cfg.pipeline, "input": p.input_kind,
                        "scale": tr.scale, "options": p.options(),  # an .onnx graph: none, its condition is fixed
                        "exported_with": getattr(p, "condition_flags", None),
                        "default_tile": p.default_tile, "tile_safe": p.tile_safe,
                        "label_classes": p.meta.label_classes})
        return out


def _int(form, key: str, default=None, lo: int = 0, hi: int | None = None):
    value = form.get(key)
    if value in (None, ""):
        return default
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise UserError(f"{key}: a whole number, please (got {str(value)[:20]!r})") from None
    if v < lo or (hi is not None and v > hi):
        raise UserError(f"{key} must be between {lo} and {hi}" if hi is not None else f"{key} must be >= {lo}")
    return v


async def _save(upload, folder: Path, k: int):
    """An uploaded file into the job's folder, a megabyte at a time; the name only for showing."""
    from .jobs import Upload, safe_name
    name = upload.filename or "upload"
    path = folder / "in" / f"{k:03d}_{safe_name(name)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        while chunk := await upload.read(MB):
            f.write(chunk)
    return Upload(name, path)


def build_app(runs: Runs, board, max_upload_mb: float = 100):
    """The Starlette app: the page, the runs, jobs and their files."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException
    from starlette.requests import Request as HttpRequest
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse
    from starlette.routing import Route

    page = resources.files("i2i.serve").joinpath("page.html").read_text()

    def error(message: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def index(request: HttpRequest):
        return HTMLResponse(page)

    async def list_runs(request: HttpRequest):
        return JSONResponse({"runs": runs.describe(), "max_upload_mb": max_upload_mb,
                             "max_megapixels": board.max_pixels / 1e6, "max_samples": MAX_SAMPLES})

    async def create_job(request: HttpRequest):
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            return error("the upload must say its size (Content-Length)", 411)
        if int(length) > max_upload_mb * MB:
            return error(f"the upload is {int(length) / MB:.1f} MB; this page takes up to {max_upload_mb:g} MB at a "
                         f"time (python -m i2i serve --max-upload-mb), or use translate.py", 413)
        try:
            form = await request.form(max_files=1000, max_fields=100)
        except Exception as e:  # a malformed multipart body
            return error(f"cannot read the upload: {one_line(e)}")
        job = None
        try:
            tr = runs.get(str(form.get("run", "")))
            job = board.new_job(str(form.get("run")))
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
            uploads = [await _save(f, job.folder, k) for k, f in enumerate(files)]
            reference = form.get("style_from")
            ref = (await _save(reference, job.folder, len(files)) if isinstance(reference, UploadFile)
                   and reference.filename else None)
            work = await run_in_threadpool(plan, tr, form, uploads, ref, board)
        except Exception as e:  # refused (or a bug): the job never ran, its uploads go
            if job is not None:
                board.drop(job)
            if not isinstance(e, UserError):
                raise
            return error(one_line(e))
        finally:
            await form.close()
        board.submit(job, work)
        return JSONResponse({"id": job.id}, status_code=202)

    async def job_status(request: HttpRequest):
        job = board.jobs.get(request.path_params["job"])
        if job is None:
            return error("no such job (finished jobs are kept for a while, then deleted)", 404)
        return JSONResponse(job.public())

    async def job_file(request: HttpRequest):
        job = board.jobs.get(request.path_params["job"])
        if job is None:
            return error("no such job", 404)
        path = (job.folder / request.path_params["path"]).resolve()
        if job.folder.resolve() not in path.parents or not path.is_file():
            return error("no such file", 404)
        download = request.query_params.get("download")
        return FileResponse(path, filename=path.name if download else None,
                            content_disposition_type="attachment" if download else "inline")

    async def http_error(request, exc: HTTPException):
        return error(exc.detail, exc.status_code)

    async def crash(request, exc: Exception):
        log.exception("request %s failed", request.url.path)
        return error(f"internal error ({type(exc).__name__}); see the server's console", 500)

    return Starlette(routes=[Route("/", index), Route("/api/runs", list_runs),
                             Route("/api/jobs", create_job, methods=["POST"]),
                             Route("/api/jobs/{job}", job_status), Route("/files/{job}/{path:path}", job_file)],
                     exception_handlers={HTTPException: http_error, Exception: crash})


def plan(tr, form, uploads: list, ref, board):
    """Check the form against the run (as translate.py checks its flags) and return the job's
    work; anything wrong is a UserError before the job is queued."""
    from ..cli import requests_from_flags
    from ..data.io import read_image
    from ..pipelines import Request
    p = tr.pipeline
    if p.input_kind == "none":
        if uploads:
            raise UserError(f"this {tr.cfg.pipeline} run draws pictures from noise; it takes no images: choose a "
                            f"class and a count instead")
        n, seed = _int(form, "n", 8, 1, MAX_SAMPLES), _int(form, "seed", 0)
        label = None
        names = p.options().get("class", [])
        if form.get("class") not in (None, ""):
            from ..inference.sampler import class_index
            if not names:
                raise UserError(f"this {tr.cfg.pipeline} run has no classes")
            label = class_index(str(form.get("class")), names)
        request = Request(label=label, seed=seed)
        return lambda job: board.sample(job, tr, request, n)
    if not uploads:
        raise UserError("no images: drop or choose one or more " + ("label maps" if p.input_kind == "labels" else "images"))
    if getattr(p, "condition_flags", None) is not None:  # an .onnx graph: its condition is fixed
        requests = [("", None)]
    else:
        if ref is not None:
            board.check_size(ref)
        ns = argparse.Namespace(
            direction=form.get("direction") or None, to=form.get("to") or None,
            all_domains=form.get("all_domains") in ("1", "true", "on"), attrs=form.get("attrs"),
            styles=_int(form, "styles", None, 1, 16) if ref is None else None,
            style_from=str(ref.path) if ref is not None else None, seed=_int(form, "seed"))
        if ns.attrs is not None and "attrs" not in p.options():
            ns.attrs = None

        def reference(path):
            try:
                return tr.prepare_image(read_image(Path(path)))
            except UserError as e:
                raise UserError(f"style reference: {one_line(e).replace(str(ref.path), ref.name)}") from None
        requests = requests_from_flags(ns, p.options(), reference)
        for _, request in requests:
            tr.condition(request, 1)
    tile = _int(form, "tile", p.default_tile, 0)
    if tile and not p.tile_safe:
        tile = 0  # a global code shapes the picture: always whole (translate.py refuses --tile here)
    return lambda job: board.translate(job, tr, uploads, requests, tile)


def serve_main(argv=None) -> int:
    a = serve_parser().parse_args(argv)
    from importlib.util import find_spec
    missing = [name for name, modules in (("starlette", ["starlette"]), ("uvicorn", ["uvicorn"]),
                                          ("python-multipart", ["python_multipart", "multipart"]))
               if not any(find_spec(m) for m in modules)]
    if missing:
        raise UserError(f"the web page needs the serve extra ({', '.join(missing)} missing): pip install -e '.[serve]'")
    if a.max_upload_mb <= 0 or a.max_megapixels <= 0 or a.workers < 1 or not 0 < a.port < 65536:
        raise UserError("--max-upload-mb and --max-megapixels must be > 0, --workers >= 1, --port 1-65535")
    from ..runtime import keep_freed_memory, set_threads
    from .jobs import JobBoard
    keep_freed_memory()
    set_threads(a.threads)
    runs = Runs(a.runs, a.device)
    board = JobBoard(a.workers, max_pixels=int(a.max_megapixels * 1e6))
    app = build_app(runs, board, a.max_upload_mb)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    where = f"http://{a.host if a.host not in ('0.0.0.0', '::') else 'localhost'}:{a.port}/"
    print(f"serving {len(runs.items)} run(s) ({', '.join(runs.items)}) at {where}  (Ctrl-C stops; "
          f"uploads live in {board.root} until then)", flush=True)
    # uvicorn re-raises SIGTERM once it has stopped: as SystemExit here, so the folder still goes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        run_server(app, a.host, a.port)
    finally:
        board.close()
        print(f"stopped; removed {board.root}", file=sys.stderr)
    return 0


def run_server(app, host: str, port: int) -> None:
    import uvicorn
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run()
    except (OSError, SystemExit) as e:  # uvicorn logs a failed bind and exits
        if server.started:
            raise
        why = f": {e.strerror}" if isinstance(e, OSError) and e.strerror else " (in use?)"
        raise UserError(f"cannot listen on {host}:{port}{why}; choose another --port") from None

