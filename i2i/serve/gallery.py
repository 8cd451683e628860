"""HTML result pages: `translate.py --html` and `python -m i2i evaluate --html`.

People judge translations by looking, so a folder of outputs gets an `index.html`: one row per
input with the input, every output of it (all domains / styles) and, for super-resolution, the
bicubic upscale beside the result. Thumbnails (JPEG, at most THUMB px) link to full images;
every link is relative and every picture it shows lives under the folder (copies of the inputs
go to `gallery/`), so the folder can be zipped and shared. The rows are also kept as
`gallery.json`, so `evaluate --html` can add each output's PSNR/SSIM (and the ground truth)
to the page `translate.py` wrote instead of building another one.
"""
from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image

from ..data.degradations import bicubic
from ..data.io import GALLERY_FOLDER as FOLDER, GALLERY_MANIFEST as MANIFEST, ImageData, read_image, write_image
from ..errors import UserError
from ..files import atomic_write

PAGE = "index.html"
THUMB = 256  # px, longer side


@dataclass
class Picture:
    label: str
    full: str                   # path relative to the page's folder
    thumb: str
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class Row:
    name: str                   # the input as the user named it (relative to its folder)
    input: Picture | None
    outputs: list[Picture]
    extra: list[Picture] = field(default_factory=list)   # bicubic upscale, ground truth


def thumbnail(rgb: np.ndarray, path: Path, size: int = THUMB) -> None:
    """H x W x C in [0, 1] -> a JPEG whose longer side is at most `size` px."""
    a = np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    im = Image.fromarray(a[..., 0] if a.shape[2] == 1 else a[..., :3])
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    atomic_write(path, lambda tmp: im.save(tmp, "JPEG", quality=88))


class Gallery:
    """Rows for one output folder; `write()` saves the page and its manifest (atomically)."""

    def __init__(self, out: Path, title: str, rows: list[Row] | None = None):
        self.out, self.title, self.rows = Path(out), title, rows or []

    @classmethod
    def load(cls, out: Path) -> "Gallery | None":
        """The gallery `translate.py --html` left in `out`, or None."""
        path = Path(out) / MANIFEST
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            rows = [Row(r["name"], Picture(**r["input"]) if r["input"] else None,
                        [Picture(**p) for p in r["outputs"]], [Picture(**p) for p in r.get("extra", [])])
                    for r in data["rows"]]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UserError(f"cannot read {path} ({e}); write it again with translate.py --html") from None
        return cls(out, data.get("title", ""), rows)

    def picture(self, label: str, rgb: np.ndarray, full: Path, write_full: bool = True,
                alpha: np.ndarray | None = None, bits: int = 8) -> Picture:
        """A picture of the page: its full image at `full` (written unless it already is) and a
        thumbnail under gallery/thumbs/ mirroring `full`'s place in the folder."""
        if write_full:
            write_image(full, rgb, alpha, bits)
        rel = full.relative_to(self.out)
        thumb = self.out / FOLDER / "thumbs" / rel.with_suffix(".jpg")
        thumbnail(rgb, thumb)
        return Picture(label, rel.as_posix(), thumb.relative_to(self.out).as_posix())

    def add_translation(self, name: str, dst: Path, img: ImageData, shown: np.ndarray,
                        outputs: list[tuple[str, Path, ImageData]], scale: int = 1) -> None:
        """One input's row: `shown` is the input as a person sees it (the photo, or a label map
        in colour); `outputs` (label, written file, its pixels); SR rows get the bicubic upscale."""
        rel = dst.relative_to(self.out)
        row = Row(name, self.picture("input", shown, self.out / FOLDER / "inputs" / rel), [])
        for label, path, res in outputs:
            row.outputs.append(self.picture(label, res.rgb, path, write_full=False))
        if scale > 1:
            up = bicubic(img.rgb, img.rgb.shape[0] * scale, img.rgb.shape[1] * scale)
            row.extra.append(self.picture("bicubic", up, self.out / FOLDER / "bicubic" / rel, bits=img.bits))
        self.rows.append(row)

    def add_scores(self, scored: list[dict]) -> None:
        """evaluate's rows ({image, truth, psnr, ssim}): the scores go under the output of that
        name and the ground truth beside it; outputs without a row of their own get one."""
        by_output = {p.full: (row, p) for row in self.rows for p in row.outputs}
        for s in scored:
            found = by_output.get(s["image"])
            if found is None:
                img = read_image(self.out / s["image"])
                row = Row(s["image"], None, [self.picture("output", img.rgb, self.out / s["image"], write_full=False)])
                self.rows.append(row)
                found = by_output[s["image"]] = (row, row.outputs[0])
            row, pic = found
            pic.scores = {"PSNR": round(s["psnr"], 2), "SSIM": round(s["ssim"], 4)}
            truth = read_image(s["truth"])
            full = self.out / FOLDER / "truth" / Path(s["image"]).with_suffix(".png")
            row.extra = [p for p in row.extra if p.label != "ground truth"]
            row.extra.append(self.picture("ground truth", truth.rgb, full, bits=truth.bits))

    def write(self) -> Path:
        page = self.out / PAGE
        data = {"title": self.title, "rows": [asdict(r) for r in self.rows]}
        atomic_write(self.out / MANIFEST, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1)))
        atomic_write(page, lambda tmp: Path(tmp).write_text(render(self.title, self.rows)))
        return page


STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}
h1{font-size:1.3em}table{border-collapse:collapse}td{vertical-align:top;padding:.4em;border-top:1px solid #ddd}
td.name{max-width:14em;word-break:break-all;font-size:.85em;color:#555}figure{margin:0;display:inline-block}
img{max-width:256px;max-height:256px;display:block;background:#eee}
figcaption{font-size:.8em;text-align:center;color:#444}.scores{font-variant-numeric:tabular-nums}"""


def _figure(p: Picture | None) -> str:
    if p is None:
        return "<td></td>"
    scores = " ".join(f"{k} {v:g}" for k, v in p.scores.items())
    return (f'<td><figure><a href="{quote(p.full)}"><img src="{quote(p.thumb)}" loading="lazy" '
            f'alt="{html.escape(p.label)}"></a><figcaption>{html.escape(p.label)}'
            + (f'<br><span class="scores">{html.escape(scores)}</span>' if scores else "")
            + "</figcaption></figure></td>")


def render(title: str, rows: list[Row]) -> str:
    """The page: one table row per input; a cell per picture; no scripts, no external files."""
    body = []
    for r in rows:
        cells = [_figure(r.input), *map(_figure, r.outputs), *map(_figure, r.extra)]
        body.append(f'<tr><td class="name">{html.escape(r.name)}</td>{"".join(cells)}</tr>')
    scored = [p.scores for r in rows for p in r.outputs if p.scores]
    summary = ""
    if scored:
        mean = {k: float(np.mean([s[k] for s in scored])) for k in scored[0]}
        summary = (f"<p>{len(scored)} scored output(s); mean "
                   + ", ".join(f"{k} {v:.{2 if k == 'PSNR' else 4}f}" for k, v in mean.items()) + "</p>")
    t = html.escape(title)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{t}</title>'
            f"<style>{STYLE}</style></head><body><h1>{t}</h1>{summary}<p>{len(rows)} input(s); click a picture "
            f"for the full image.</p><table>{''.join(body)}</table></body></html>\n")
