"""i2i: image-to-image translation with GANs, from one shared set of modules."""
import os as _os

# albumentations asks the internet for a newer version at import; i2i makes no network calls
# at run time (and offline machines would print a warning on every start).
_os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
