"""Load a trained run and translate images of any size.

Everything architectural comes from the config saved inside the checkpoint, so the user
never repeats a flag. Images are padded (reflect) to the generator's size multiple and
cropped back; large images can run in blended tiles (`tiling.py`) with bounded memory.
Alpha is carried around the network (bicubic-resized when the output is larger), bit
depth and ICC profile are kept, and restoration/SR runs give grayscale back for grayscale.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..config import Config
from ..data.degradations import bicubic
from ..data import io as image_io
from ..data.io import ImageData, to_numpy, to_tensor
from ..errors import UserError
from ..engine import checkpoint as ckpt
from ..runtime import resolve_device
from ..pipelines import Request, build_pipeline
from .tiling import tiled

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # BT.601


def out_of_memory(error: Exception) -> bool:
    """Whether a translation failed for lack of memory (torch's RuntimeError says so; the ONNX
    backend raises MemoryError): callers answer with a smaller tile, anything else is a bug."""
    return isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and "memory" in str(error).lower())


def instance_path(label_path: Path) -> Path:
    """The instance map of DIR/labels/SUB/NAME.png: DIR/instances/SUB/NAME.* (the dataset's layout;
    the nearest folder named labels above the map decides DIR)."""
    labels = next((p for p in label_path.parents if p.name == "labels"), label_path.parent)
    folder = labels.parent / "instances" / label_path.parent.relative_to(labels)
    found = sorted(p for p in folder.iterdir() if p.stem == label_path.stem) if folder.is_dir() else []
    if not found:
        raise UserError(f"this run was trained with instance maps: put the one for {label_path} in {folder}/ "
                        f"with the same name")
    return found[0]


class Translator:
    def __init__(self, pipeline, cfg: Config, device: torch.device, step: int = 0, half: bool = False):
        self.pipeline, self.cfg, self.device, self.step = pipeline.eval().to(device), cfg, device, step
        if half and device.type != "cuda":
            raise UserError("--half runs on CUDA only (CPUs have no fast fp16); leave it out on CPU")
        self.half = half

    @classmethod
    def from_run(cls, run, device: str = "auto", half: bool = False) -> "Translator":
        """A run folder or .safetensors checkpoint (PyTorch), or an exported .onnx file (onnxruntime)."""
        if str(run).lower().endswith(".onnx"):
            from .onnx_backend import OnnxPipeline
            if half:
                raise UserError("--half applies to PyTorch runs; an .onnx graph runs in the precision it was exported in")
            onnx = OnnxPipeline(run, resolve_device(device))
            return cls(onnx, onnx.cfg, torch.device("cpu"), onnx.step)  # onnxruntime moves data itself
        tensors, meta = ckpt.read_weights(ckpt.resolve_checkpoint(run))
        cfg = ckpt.config_of(meta)
        pipeline = build_pipeline(cfg, ckpt.data_meta_of(meta), training=False)
        ckpt.load_networks(pipeline, ckpt.inference_generators(tensors), generators_only=True)
        return cls(pipeline, cfg, resolve_device(device), int(meta.get("step", 0)), half)

    @property
    def scale(self) -> int:
        return self.pipeline.scale

    def check_direction(self, direction: str) -> None:
        self.pipeline.check_direction(direction)

    def condition(self, request: Request | None, n: int) -> dict:
        """The pipeline's condition for n images: computed once, before padding and tiling, so
        every tile of an image is translated under the same domain / style / class."""
        return self.pipeline.condition(request or Request(), n)

    @staticmethod
    def _cond_rows(cond: dict, i: int, k: int, device) -> dict:
        """Image i's condition, repeated for a batch of k tiles, on the device."""
        return {name: v[i:i + 1].expand(k, *v.shape[1:]).to(device) if torch.is_tensor(v) else v
                for name, v in cond.items()}

    def _net(self, x: torch.Tensor, cond: dict) -> torch.Tensor:
        """The network on one batch: in fp16 (autocast) with --half, the output back in fp32."""
        with torch.autocast("cuda", dtype=torch.float16) if self.half else contextlib.nullcontext():
            return self.pipeline.translate(x, **cond).float()

    @torch.no_grad()
    def translate_tensor(self, x: torch.Tensor, cond: dict | None = None, tile: int = 0, overlap: int = 16,
                         tile_batch: int = 1, progress=None) -> torch.Tensor:
        """N x C x H x W in [-1, 1] (on the CPU) -> translated, H*scale x W*scale, on the CPU.
        `cond` comes from `condition()` (default: the default request). tile > 0 runs images
        larger than tile x tile in blended tiles (one batch of tiles on the device at a time).
        `progress(fraction)` hears how far the batch is (after each batch of tiles; the web page)."""
        cond = self.condition(None, x.shape[0]) if cond is None else cond
        h, w = x.shape[-2:]
        m, s = self.pipeline.size_multiple, self.scale
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        if tile and max(h, w) > tile:
            def net_for(i):
                return lambda t: self._net(t, self._cond_rows(cond, i, t.shape[0], self.device))

            def tiles_done(i):
                return None if progress is None else lambda done, total: progress((i + done / total) / len(x))
            y = torch.cat([tiled(net_for(i), xi[None], tile, overlap, s, m, self.device, tile_batch, tiles_done(i))
                           for i, xi in enumerate(x)])
        else:
            here = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in cond.items()}
            y = self._net(x.to(self.device), here).cpu()
            if progress is not None:
                progress(1.0)
        return y[..., :h * s, :w * s]

    def read_input(self, path) -> ImageData:
        """An input as the run reads it: an image, or (label-map runs) the label ids, with the
        instance ids as a second channel where the run was trained with instance maps; ids are
        never resampled or rescaled (padding copies them)."""
        if self.pipeline.input_kind != "labels":
            return image_io.read_image(path)  # looked up at call time: one reader to patch in tests
        from ..data.label_maps import read_instance_map, read_label_map
        meta, path = self.pipeline.meta, Path(path)
        ids = read_label_map(path, {(r, g, b): i for r, g, b, i in meta.label_palette} or None,
                             f"this run takes label maps of class ids 0..{meta.label_classes - 1} (single-channel "
                             f"or palette PNGs), not photos")
        bad = ids[(ids >= meta.label_classes) & ((ids != 255) | (not meta.label_dont_care))]
        if bad.size:
            raise UserError(f"{path}: label value {int(bad.max())} is not a class of this run (0..{meta.label_classes - 1}"
                            + (", 255 = don't care)" if meta.label_dont_care else "; it was trained without 255 = don't care)"))
        channels = [ids]
        if meta.label_instances:
            channels.append(read_instance_map(instance_path(path)))
            if channels[1].shape != ids.shape:
                raise UserError(f"{instance_path(path)} is not the size of its label map {path}")
        return ImageData(np.stack(channels, -1).astype(np.float32), None, 8, None)

    def as_picture(self, img: ImageData) -> np.ndarray:
        """The input as a person sees it (galleries, the web page): the image itself, or a label
        map in distinct colours per class."""
        if self.pipeline.input_kind != "labels":
            return img.rgb
        from ..pipelines.from_labels import colourise
        ids = torch.from_numpy(np.ascontiguousarray(img.rgb[..., 0]))[None, None]
        return to_numpy(colourise(ids, self.pipeline.meta.label_classes)[0])

    def prepare(self, img: ImageData) -> torch.Tensor:
        """An input as the network takes it: label ids as they are, images by `prepare_image`."""
        if self.pipeline.input_kind == "labels":
            return torch.from_numpy(np.ascontiguousarray(img.rgb.transpose(2, 0, 1)))
        return self.prepare_image(img)

    def prepare_image(self, img: ImageData) -> torch.Tensor:
        """Match the channels the network was trained on (grayscale <-> RGB)."""
        rgb, want = img.rgb, self.cfg.data.in_channels if self.pipeline.directions == ("AtoB",) else 3
        if rgb.shape[2] == 1 and want == 3:
            rgb = np.repeat(rgb, 3, axis=2)
        elif rgb.shape[2] == 3 and want == 1:
            rgb = (rgb @ LUMA)[..., None]
        return to_tensor(rgb)

    def finish(self, out: np.ndarray, img: ImageData) -> ImageData:
        """Network output -> image to write: grayscale stays grayscale where the pipeline
        restores rather than recolours; alpha is resized to the output (bicubic)."""
        if img.grayscale and out.shape[2] == 3 and self.pipeline.keeps_grayscale:
            out = (out @ LUMA)[..., None]
        alpha = img.alpha
        if alpha is not None and alpha.shape != out.shape[:2]:
            alpha = bicubic(alpha[..., None], out.shape[0], out.shape[1])[..., 0]
        icc = img.icc if out.shape[2] == img.rgb.shape[2] else None  # a gray profile cannot describe RGB
        return ImageData(out, alpha, img.bits, icc)

    def translate_images(self, images: list[ImageData], request: Request | None = None, tile: int = 0,
                         overlap: int = 16, progress=None) -> list[ImageData]:
        """A batch of same-sized images -> translated images (alpha, bit depth, ICC kept)."""
        x = torch.stack([self.prepare(im) for im in images])
        y = self.translate_tensor(x, self.condition(request, len(images)), tile, overlap, len(images), progress)
        return [self.finish(to_numpy(t), im) for t, im in zip(y, images)]
