from .translator import Translator  # noqa: F401
