"""The one training loop and everything around it (devices, optimizers, checkpoints, logs)."""
from ..runtime import resolve_device  # noqa: F401
from .trainer import Trainer  # noqa: F401
