from . import patch, multiscale, vgg, unet_sn  # noqa: F401  (register)
