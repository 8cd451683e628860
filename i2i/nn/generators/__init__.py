from . import unet, resnet, rrdb, srresnet, stargan, munit, dcgan, sngan  # noqa: F401  (register)
