from . import unet, resnet, rrdb, srresnet  # noqa: F401  (register)
