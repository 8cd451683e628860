from . import patch, multiscale, vgg, unet_sn, stargan, dcgan, sngan  # noqa: F401  (register)
