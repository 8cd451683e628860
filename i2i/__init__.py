"""i2i: image-to-image translation with GANs, from one shared set of modules."""
__version__ = "0.1.0"
