"""Deep Image Prior (Ulyanov, Vedaldi & Lempitsky, CVPR 2018): a randomly initialised
encoder-decoder, fitted to one degraded image, restores it through its structure alone.

``denoise``, ``super_resolve`` and ``inpaint`` (``tasks``) run the official notebooks' settings
(``config.preset_for``) on (H, W, C) images in [-1, 1]; ``python -m sinir_jax.dip`` is the CLI.
"""
from sinir_jax.dip.config import DIPConfig
from sinir_jax.dip.config import preset_for
from sinir_jax.dip.network import Skip
from sinir_jax.dip.tasks import denoise
from sinir_jax.dip.tasks import inpaint
from sinir_jax.dip.tasks import super_resolve
from sinir_jax.dip.trainer import DIPDiverged
from sinir_jax.dip.trainer import DIPResult

__all__ = ["DIPConfig", "DIPDiverged", "DIPResult", "Skip", "denoise", "inpaint", "preset_for",
           "super_resolve"]
