"""The one training loop and everything around it (devices, optimizers, checkpoints, logs)."""
from .trainer import Trainer, resolve_device  # noqa: F401
