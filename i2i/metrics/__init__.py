from .quality import psnr, ssim, rgb_to_y  # noqa: F401
from .folders import evaluate_folders, mean_scores, format_table  # noqa: F401
from .distribution import (frechet_distance, kernel_inception_distance, inception_score, mode_coverage,  # noqa: F401
                           distribution_metrics, format_distribution)
from .inception import InceptionFeatures  # noqa: F401
from .own_features import OwnFeatures  # noqa: F401
