"""sinir_jax: SinIR (Yoo & Chen, ICML 2021) in JAX/Flax.

Train a cascade of small fully convolutional nets on one image, then manipulate other images by
choosing the scale at which they enter the cascade.
"""
from sinir_jax.cascade import Model
from sinir_jax.checkpoint import load_model
from sinir_jax.config import Config
from sinir_jax.corruption import pixel_shuffle
from sinir_jax.host_memory import keep_freed_host_memory
from sinir_jax.io import InputError
from sinir_jax.io import load_image
from sinir_jax.io import save_image
from sinir_jax.losses import sinir_loss
from sinir_jax.many import train_many
from sinir_jax.model import ScaleNet
from sinir_jax.model import params_from_torch
from sinir_jax.pyramid import build_pyramid
from sinir_jax.pyramid import scale_params
from sinir_jax.resampling import resize
from sinir_jax.trainer import train

__all__ = [
    "Config", "InputError", "Model", "ScaleNet", "build_pyramid", "keep_freed_host_memory",
    "load_image", "load_model", "params_from_torch", "pixel_shuffle", "resize", "save_image",
    "scale_params", "sinir_loss", "train", "train_many",
]
__version__ = "0.1.0"
