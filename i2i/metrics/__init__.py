from .quality import psnr, ssim, rgb_to_y  # noqa: F401
