"""sinir_jax: deep internal learning in JAX/Flax, networks trained at test time on one image.

SinIR (Yoo & Chen, ICML 2021): train a cascade of small fully convolutional nets on one image,
then manipulate other images by choosing the scale at which they enter the cascade. ZSSR
(Shocher, Cohen & Irani, CVPR 2018): super-resolve an image with a CNN trained on the image
alone. Deep Image Prior (Ulyanov, Vedaldi & Lempitsky, CVPR 2018): restore an image by fitting
an untrained encoder-decoder to it. Double-DIP (Gandelsman, Shocher & Irani, CVPR 2019): split
an image into layers with coupled Deep Image Priors. ``sinir_jax.core`` is the engine every
method shares; ``sinir_jax.sinir``, ``sinir_jax.zssr`` and ``sinir_jax.dip`` (with
``sinir_jax.dip.double``) are the methods' own.
"""
from sinir_jax.core.errors import DiskFullError
from sinir_jax.dip.config import DIPConfig
from sinir_jax.dip.tasks import denoise as dip_denoise
from sinir_jax.dip.tasks import inpaint as dip_inpaint
from sinir_jax.dip.tasks import super_resolve as dip_super_resolve
from sinir_jax.dip.double.config import DoubleDIPConfig
from sinir_jax.dip.double.tasks import dehaze as double_dip_dehaze
from sinir_jax.dip.double.tasks import remove_watermark as double_dip_remove_watermark
from sinir_jax.dip.double.tasks import segment as double_dip_segment
from sinir_jax.dip.double.tasks import separate as double_dip_separate
from sinir_jax.core.errors import InputError
from sinir_jax.core.grids import grid
from sinir_jax.core.grids import to_uint8
from sinir_jax.core.host_memory import keep_freed_host_memory
from sinir_jax.core.images import DEFAULT_IMAGE
from sinir_jax.core.images import load_image
from sinir_jax.core.images import save_image
from sinir_jax.core.resampling import resize
from sinir_jax.sinir.cascade import Model
from sinir_jax.sinir.config import Config
from sinir_jax.sinir.corruption import pixel_shuffle
from sinir_jax.sinir.loss import sinir_loss
from sinir_jax.sinir.many import train_many
from sinir_jax.sinir.network import ScaleNet
from sinir_jax.sinir.network import params_from_torch
from sinir_jax.sinir.pyramid import build_pyramid
from sinir_jax.sinir.pyramid import scale_params
from sinir_jax.sinir.runs import load_model
from sinir_jax.sinir.trainer import TrainingDiverged
from sinir_jax.sinir.trainer import train
from sinir_jax.zssr.config import ZSSRConfig
from sinir_jax.zssr.trainer import super_resolve as zssr_super_resolve

__all__ = [
    "Config", "DEFAULT_IMAGE", "DIPConfig", "DiskFullError", "InputError", "Model", "ScaleNet",
    "TrainingDiverged", "build_pyramid", "grid", "keep_freed_host_memory", "load_image",
    "load_model", "params_from_torch", "pixel_shuffle", "resize", "save_image", "scale_params",
    "sinir_loss", "to_uint8", "train", "train_many", "ZSSRConfig", "zssr_super_resolve",
    "dip_denoise", "dip_inpaint", "dip_super_resolve", "DoubleDIPConfig", "double_dip_dehaze",
    "double_dip_remove_watermark", "double_dip_segment", "double_dip_separate",
]
__version__ = "0.2.0"
