"""Folder datasets, paired transforms and image I/O."""
from . import classes, domains  # noqa: F401  (register the class and multi-domain datasets)
from . import label_maps  # noqa: F401  (register the label-map dataset)
from .folders import build_dataset  # noqa: F401
from .meta import DataMeta  # noqa: F401
