from . import unet, resnet, rrdb, srresnet, stargan  # noqa: F401  (register)
