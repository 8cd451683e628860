from .quality import psnr, ssim, rgb_to_y  # noqa: F401
from .folders import evaluate_folders, mean_scores, format_table  # noqa: F401
