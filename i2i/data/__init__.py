"""Folder datasets, paired transforms and image I/O."""
from . import domains  # noqa: F401  (registers the multi-domain dataset)
from .folders import build_dataset  # noqa: F401
from .meta import DataMeta  # noqa: F401
