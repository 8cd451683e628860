from . import unet, resnet, rrdb, srresnet, stargan, munit  # noqa: F401  (register)
