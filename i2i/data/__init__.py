"""Folder datasets, paired transforms and image I/O."""
from .folders import build_dataset  # noqa: F401
from .meta import DataMeta  # noqa: F401
