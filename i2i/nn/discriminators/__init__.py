from . import patch, multiscale  # noqa: F401  (register)
