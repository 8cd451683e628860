"""The shared module set: generators, discriminators and the layers they are built from.

Importing this package registers every generator and discriminator by name.
"""
from . import generators, discriminators  # noqa: F401  (registration side effects)
from .build import build_generator, build_discriminator  # noqa: F401
