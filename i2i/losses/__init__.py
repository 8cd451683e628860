"""Loss terms. Weights never live here: pipelines multiply by `cfg.loss.<term>`."""
from .adversarial import AdversarialLoss, clip_weights, detach_outputs, gradient_penalty, r1_penalty  # noqa: F401
from .pixel import l1, mse, cycle, identity  # noqa: F401
from .matching import feature_matching  # noqa: F401
from .perceptual import VGGPerceptualLoss  # noqa: F401
