from . import patch, multiscale, vgg, unet_sn, stargan  # noqa: F401  (register)
