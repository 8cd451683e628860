"""An exported .onnx file in the pipeline's place inside a Translator (translate.py RUN.onnx, or
--backend onnxruntime): the Translator's padding, tiling and I/O run unchanged around it.

What the Translator asks of a pipeline beyond translate() (input kind, size multiple, scale,
label classes, grayscale handling) comes from the run's config and data meta saved in the file:
the pipeline is built once on the "meta" device, which allocates no weights, and answers those.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from ..pipelines import build_pipeline
from .export import META_CONDITION, noise_input


def _session(path: Path, device: torch.device):
    try:
        import onnxruntime
    except ImportError:
        raise UserError("onnxruntime is not installed: pip install -e .[onnx] (or pip install onnxruntime)") from None
    providers = ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # the share translate.py's --threads chose
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=providers)
    except Exception as e:  # onnxruntime raises its own exception types for unreadable files
        raise UserError(f"{path}: not an ONNX model onnxruntime can load ({str(e).splitlines()[0][:200]})") from None


class OnnxPipeline:
    """translate(x) runs the graph; everything else is the run's pipeline, built without weights."""

    def __init__(self, path, device: torch.device):
        from ..engine import checkpoint as ckpt
        path = Path(path)
        if not path.is_file():
            raise UserError(f"ONNX model not found: {path}")
        self.session = _session(path, device)
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get("format") != "i2i-onnx":
            raise UserError(f"{path} was not exported by i2i (python -m i2i export RUN --out FILE.onnx): it lacks "
                            f"the run's config")
        self.path, self.meta_props = path, meta
        self.cfg = ckpt.config_of(meta)
        with torch.device("meta"):
            self._shape = build_pipeline(self.cfg, ckpt.data_meta_of(meta), training=False)
        self.condition_flags = json.loads(meta.get(META_CONDITION) or "{}")
        self.step = int(meta.get("step", 0))

    def __getattr__(self, name):
        return getattr(self.__dict__["_shape"], name)

    def eval(self):
        return self

    def to(self, device):
        return self

    def options(self) -> dict:
        return {}  # the condition is part of the graph

    def class_options(self) -> dict:
        """The run's classes (where the exported class is one), for sample's folders."""
        return self._shape.options()

    def condition(self, request, n: int) -> dict:
        """Runs from noise: the seeded z (the class is in the graph); translations: nothing."""
        if self.input_kind == "none":
            return {"z": noise_input(self._shape.condition(request, n))}
        return {}

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        try:
            out = self.session.run(None, {"x": np.ascontiguousarray(x.detach().float().cpu().numpy())})[0]
        except Exception as e:  # onnxruntime's own types: an allocation failure becomes the MemoryError
            if "alloc" in str(e).lower() or "memory" in str(e).lower():  # translate.py answers with --tile
                raise MemoryError(str(e).splitlines()[0]) from None
            raise
        return torch.from_numpy(out)

    def translate(self, x: torch.Tensor, **cond) -> torch.Tensor:
        return self._run(x)

    def sample(self, n: int, z: torch.Tensor, **cond) -> torch.Tensor:
        return self._run(z[:n])
