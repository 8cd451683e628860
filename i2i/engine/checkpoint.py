"""Checkpoints: weights as safetensors (config, step, schema version and a SHA-256 of the
tensors in its metadata), and a separate resume file per step (optimizers, schedulers, RNG,
image pools).

A run must resume after a kill at *any* instant, so the pair is never out of step: the
resume file is written first under its own step-numbered name (`weights/state-00000500.pt`),
then the weights file (which names its step) replaces the old one, and only then are older
resume files deleted. Whatever instant a kill hits, the step the weights name has its resume
file on disk. Each file is written to a temp file and renamed (`i2i.files`).
Nothing is ever unpickled beyond `torch.load(weights_only=True)`.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import yaml
from safetensors import safe_open
from safetensors.torch import save_file

from ..config import SCHEMA_VERSION, Config, from_dict
from ..data.meta import DataMeta
from ..errors import UserError
from ..files import atomic_write

WEIGHTS = Path("weights") / "latest.safetensors"
LEGACY_STATE = Path("weights") / "latest.state.pt"  # runs saved before step-numbered resume files
NET_PREFIXES = ("generators.", "discriminators.")
EMA_PREFIX = "ema."  # "ema.generators.G...": the moving average of G, preferred for inference


def state_path(out: Path, step: int) -> Path:
    return Path(out) / "weights" / f"state-{step:08d}.pt"


def _cpu(state: dict) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}


def network_state(pipeline: torch.nn.Module, ema=None) -> dict[str, torch.Tensor]:
    tensors = _cpu({k: v for k, v in pipeline.state_dict().items() if k.startswith(NET_PREFIXES)})
    if ema is not None:
        tensors.update({f"{EMA_PREFIX}generators.{k}": v for k, v in _cpu(ema.state_dict()).items()})
    return tensors


def checksum(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes: a flipped bit is caught on load instead of
    silently translating every image to black."""
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy() if t.numel() else b"")
    return h.hexdigest()


def save_weights(path: Path, pipeline, cfg: Config, step: int, ema=None) -> None:
    tensors = network_state(pipeline, ema)
    meta = {"format": "i2i", "schema_version": str(SCHEMA_VERSION), "step": str(step), "config": cfg.to_yaml(),
            "data_meta": pipeline.meta.to_json(), "sha256": checksum(tensors)}
    if ema is not None:
        meta["ema_updates"] = str(ema.updates)
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def read_weights(path: Path, tensors: bool = True) -> tuple[dict[str, torch.Tensor], dict]:
    path = Path(path)
    if not path.exists():
        raise UserError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            out = {k: f.get_tensor(k) for k in f.keys()} if tensors else {}
    except Exception as e:  # safetensors raises its own error types for bad headers
        raise UserError(f"{path} is not a readable i2i checkpoint (.safetensors): {e}") from None
    if meta.get("format") != "i2i" or "config" not in meta:
        raise UserError(f"{path} is a safetensors file but not an i2i checkpoint (no config in its metadata)")
    if tensors and "sha256" in meta and checksum(out) != meta["sha256"]:
        raise UserError(f"{path} is corrupt (its tensors do not match the checksum saved with them): "
                        f"copy it again from where it came, or use another checkpoint")
    return out, meta


def read_metadata(path: Path) -> dict:
    """Config, step, schema version: the header alone, no tensors read."""
    return read_weights(path, tensors=False)[1]


def config_of(meta: dict) -> Config:
    return from_dict(yaml.safe_load(meta["config"]))


def data_meta_of(meta: dict) -> DataMeta:
    """Domains, attributes, classes the run was trained on (none for runs saved before it existed)."""
    return DataMeta.from_json(meta.get("data_meta"))


def ema_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The moving average's own state dict (as `EMA.load_state_dict` takes it); empty if none."""
    prefix = EMA_PREFIX + "generators."
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def inference_generators(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The generator weights to translate with: the moving average when the run kept one."""
    ema = {k[len(EMA_PREFIX):]: v for k, v in tensors.items() if k.startswith(EMA_PREFIX)}
    return ema or {k: v for k, v in tensors.items() if k.startswith("generators.")}


def load_networks(pipeline, tensors: dict[str, torch.Tensor], generators_only: bool = False,
                  source: str = "checkpoint") -> None:
    own = pipeline.state_dict()
    wanted = [k for k in own if k.startswith("generators." if generators_only else NET_PREFIXES)]
    missing = [k for k in wanted if k not in tensors]
    if missing:
        raise UserError(f"{source} does not fit this pipeline: {len(missing)} tensors missing (e.g. {missing[0]})")
    wrong = [k for k in wanted if tensors[k].shape != own[k].shape]
    if wrong:
        k = wrong[0]
        raise UserError(f"{source} does not fit this pipeline: {k} is {list(tensors[k].shape)} there "
                        f"but {list(own[k].shape)} here")
    pipeline.load_state_dict({k: tensors[k] for k in wanted}, strict=False)


def load_partial(pipeline, tensors: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Load `tensors` into the pipeline's networks they name (part of one network: a coarse
    generator inside a finer one); every name must exist here with the same shape."""
    own = pipeline.state_dict()
    for k, v in tensors.items():
        if k not in own or own[k].shape != v.shape:
            raise UserError(f"{source} does not fit this pipeline: {k} is {list(v.shape)} there but "
                            + (f"{list(own[k].shape)} here" if k in own else "absent here"))
    pipeline.load_state_dict(tensors, strict=False)


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(path: Path, step: int, optimizers: dict, schedulers: dict, extra: dict) -> None:
    state = {"step": step, "rng": rng_state(), "extra": extra,
             "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
             "schedulers": {k: s.state_dict() for k, s in schedulers.items()}}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def save_checkpoint(out: Path, step: int, pipeline, cfg: Config, ema, optimizers: dict, schedulers: dict,
                    extra: dict) -> None:
    """Resume file first (its own name), weights second (the switch), old resume files last."""
    out = Path(out)
    keep = state_path(out, step)
    save_state(keep, step, optimizers, schedulers, extra)
    save_weights(out / WEIGHTS, pipeline, cfg, step, ema)
    for old in [*out.glob("weights/state-*.pt"), out / LEGACY_STATE]:
        if old != keep:
            old.unlink(missing_ok=True)


def load_state(path: Path) -> dict:
    if not Path(path).exists():
        raise UserError(f"cannot resume: {path} not found (was the run saved?)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or bit-flipped pickle/zip raises many types
        raise UserError(f"cannot resume: {path} is corrupt ({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}); "
                        f"delete the run's weights/ folder to start over, or restore it from a copy") from None
    if not isinstance(state, dict) or "step" not in state:
        raise UserError(f"cannot resume: {path} is not an i2i resume file")
    return state


def load_state_for(out: Path, step: int) -> dict:
    """The resume file that belongs to the weights saved at `step`."""
    out = Path(out)
    for path in (state_path(out, step), out / LEGACY_STATE):
        if path.exists():
            state = load_state(path)
            if state["step"] == step:
                return state
    found = sorted(p.name for p in out.glob("weights/*.pt"))
    raise UserError(f"cannot resume: {out / WEIGHTS} is at step {step} but no resume file for that step is in "
                    f"{out / 'weights'} (found: {', '.join(found) or 'none'})")


def resolve_checkpoint(run: str | Path) -> Path:
    """A run folder or a .safetensors file -> the weights file."""
    run = Path(run)
    if run.is_dir():
        path = run / WEIGHTS
        if not path.exists():
            raise UserError(f"{run} holds no checkpoint ({WEIGHTS} missing): is it a run folder made by train.py?")
        return path
    if run.suffix == ".safetensors":
        return run
    if run.exists():
        raise UserError(f"{run} is not a run: give a run folder (checkpoints/NAME) or a .safetensors checkpoint")
    raise UserError(f"run not found: {run} (give a run folder or a .safetensors checkpoint)")
