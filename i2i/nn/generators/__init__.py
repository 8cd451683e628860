from . import unet, resnet  # noqa: F401  (register)
