"""ONNX export: a run's inference under one chosen condition, as a graph onnxruntime runs.

The graph is exactly `pipeline.translate(x, **condition)` (for runs from noise, `sample(z)`):
padding, tiling, channels, alpha and file I/O stay in the Translator, so translate.py wraps
either backend in the same code (`onnx_backend.py`). The condition (target domain, direction,
style code, class) is computed once by the pipeline, as translate.py computes it, and stored in
the graph as a constant; the flags that chose it are written into the file's metadata together
with the run's config and data meta, so the .onnx file alone is enough to translate.

Batch, height and width are dynamic: torch.export traces them as symbols, so sizes the export
never saw run too (any multiple of the run's size multiple; translate.py pads to it).
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import UserError
from ..files import atomic_write
from ..pipelines import Request

OPSET = 18  # what torch.export's ONNX translator targets; onnxruntime >= 1.14 runs it
META_CONDITION = "i2i.condition"  # the export flags that fixed the condition, as JSON ({} = the run's default)


# what a run from noise draws per sample: its graph takes their concatenation as input (InfoGAN's
# continuous codes vary per sample like z; its categorical code and any class stay fixed)
PER_SAMPLE = ("z", "codes")


def noise_input(cond: dict) -> torch.Tensor:
    """The graph input of a run from noise for a condition `Pipeline.condition` made: [z, codes]."""
    return torch.cat([cond[k] for k in PER_SAMPLE if torch.is_tensor(cond.get(k))], 1)


class FixedCondition(nn.Module):
    """The pipeline's inference with its condition held fixed: x -> output. Condition tensors
    are stored for one image and expanded to the batch, so the batch size stays free."""

    def __init__(self, pipeline, cond: dict):
        super().__init__()
        self.pipeline = pipeline
        from_noise = pipeline.input_kind == "none"
        self.fixed = {k: v for k, v in cond.items() if not torch.is_tensor(v)}
        self.free = [(k, cond[k].shape[1]) for k in PER_SAMPLE if from_noise and torch.is_tensor(cond.get(k))]
        self.tensor_names = [k for k, v in cond.items() if torch.is_tensor(v) and k not in dict(self.free)]
        for k in self.tensor_names:
            self.register_buffer(f"cond_{k}", cond[k][:1].clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        cond = {k: getattr(self, f"cond_{k}").expand(n, *getattr(self, f"cond_{k}").shape[1:])
                for k in self.tensor_names}
        if self.free:
            parts = dict(zip([k for k, _ in self.free], x.split([w for _, w in self.free], 1)))
            return self.pipeline.sample(n, **parts, **cond, **{k: v for k, v in self.fixed.items() if k not in parts})
        return self.pipeline.translate(x, **cond, **self.fixed)


def example_input(translator, cond: dict) -> torch.Tensor:
    """What the graph is traced with: [z, codes] for runs from noise, else a non-square input whose
    sides are multiples of the network's (>= 64 px, so every downsampling has something left)."""
    p = translator.pipeline
    if p.input_kind == "none":
        return torch.randn(2, noise_input(cond).shape[1])
    m = p.size_multiple
    h = m * max(1, math.ceil(64 / m))
    if p.input_kind == "labels":
        return torch.randint(0, max(1, p.meta.label_classes), (1, p.input_channels, h, h + m)).float()
    channels = translator.cfg.data.in_channels if p.directions == ("AtoB",) else 3
    return torch.rand(1, channels, h, h + m) * 2 - 1


def other_input(x: torch.Tensor, pipeline) -> torch.Tensor:
    """A second input of another batch and size than the traced one, for the parity check."""
    if pipeline.input_kind == "none":
        return torch.randn(3, x.shape[1])
    m, (h, w) = pipeline.size_multiple, x.shape[-2:]
    shape = (2, x.shape[1], h + m, max(m, w - m))
    if pipeline.input_kind == "labels":
        return torch.randint(0, max(1, pipeline.meta.label_classes), shape).float()
    return torch.rand(shape) * 2 - 1


def require_onnx():
    try:
        import onnx
        import onnxruntime  # noqa: F401
    except ImportError:
        raise UserError("ONNX export needs onnx, onnxscript and onnxruntime: pip install -e .[onnx]") from None
    if not hasattr(torch.export.Dim, "AUTO"):  # the torch.export-based exporter with automatic dynamic sizes
        raise UserError(f"ONNX export needs torch >= 2.6 (this is {torch.__version__}): pip install -U torch")
    return onnx


def export_onnx(translator, path: Path, request: Request | None = None, condition_flags: dict | None = None,
                check: bool = True) -> dict:
    """Write the run's inference under `request` to `path` (.onnx). With `check`, run the file
    in onnxruntime on the traced input and on one of another size and batch, and return the
    largest absolute difference from PyTorch for each ({"64x80": 3e-7, ...})."""
    onnx = require_onnx()
    p = translator.pipeline
    if p.input_kind == "none" and p.options().get("class") and (request is None or request.label is None):
        names = p.options()["class"]
        raise UserError(f"this {translator.cfg.pipeline} run is class-conditional: choose the class the graph draws "
                        f"with --class C ({', '.join(names)})")
    request = request or Request()
    cond = translator.condition(request, 1)
    on_cpu = p if all(t.device.type == "cpu" for t in p.parameters()) else copy.deepcopy(p).cpu()  # leave the caller's
    graph = FixedCondition(on_cpu, {k: v.cpu() if torch.is_tensor(v) else v for k, v in cond.items()}).eval()
    x = example_input(translator, cond)
    dims = {0: torch.export.Dim.AUTO} if x.dim() == 2 else {i: torch.export.Dim.AUTO for i in (0, 2, 3)}
    meta = {"format": "i2i-onnx", "config": translator.cfg.to_yaml(), "data_meta": p.meta.to_json(),
            "step": str(translator.step), META_CONDITION: json.dumps(condition_flags or {})}

    def write(tmp: str) -> None:
        with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # the exporter's notes on its own progress and internals
            torch.onnx.export(graph, (x,), tmp, input_names=["x"], output_names=["y"], dynamic_shapes={"x": dims},
                              opset_version=OPSET, dynamo=True, verbose=False, external_data=False)
        model = onnx.load(tmp)
        del model.metadata_props[:]
        for k, v in meta.items():
            model.metadata_props.add(key=k, value=v)
        model.producer_name = "i2i"
        onnx.save(model, tmp)

    path = Path(path)
    atomic_write(path, write)  # a killed export never leaves half a file under the name asked for
    if not check:
        return {}
    import onnxruntime
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    diffs = {}
    for inp in (x, other_input(x, p)):
        with torch.no_grad():
            want = graph(inp).numpy()
        got = session.run(None, {"x": inp.numpy()})[0]
        key = f"batch {inp.shape[0]}" if inp.dim() == 2 else f"{inp.shape[-1]}x{inp.shape[-2]} batch {inp.shape[0]}"
        diffs[key] = float(np.abs(got - want).max())
    return diffs
