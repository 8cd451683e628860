"""Pipelines: which networks, which losses, one D step, one G step, translate().
Nothing about loops, devices or files lives here (that is `engine/`)."""
from . import pix2pix, cyclegan, super_resolution, stargan, munit, unit, dcgan, cgan, acgan, infogan, spade, pix2pixhd  # noqa: F401  (register)
from .base import Pipeline, Request, build_pipeline, pipeline_class  # noqa: F401
