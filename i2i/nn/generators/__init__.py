from . import unet, resnet, rrdb, srresnet, msrresnet, stargan, munit, dcgan, sngan, spade, pix2pixhd  # noqa: F401  (register)
