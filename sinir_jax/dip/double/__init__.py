"""Double-DIP (Gandelsman, Shocher & Irani, CVPR 2019): one image decomposed into layers by
coupled Deep Image Priors, two nets for the layers, one for the mask, kept apart by the
exclusion loss: ``segment``, ``separate`` (and ``separate_single``), ``dehaze`` and
``remove_watermark`` (``tasks``) run the official scripts' settings; ``python -m
sinir_jax.double_dip`` is the CLI and ``synthetic`` the seeded benchmark.
"""
from sinir_jax.dip.double.config import DoubleDIPConfig
from sinir_jax.dip.double.config import preset_for
from sinir_jax.dip.double.losses import exclusion as exclusion_loss
from sinir_jax.dip.double.tasks import DehazeResult
from sinir_jax.dip.double.tasks import SegmentResult
from sinir_jax.dip.double.tasks import SeparateResult
from sinir_jax.dip.double.tasks import WatermarkResult
from sinir_jax.dip.double.tasks import dehaze
from sinir_jax.dip.double.tasks import remove_watermark
from sinir_jax.dip.double.tasks import remove_watermark_many
from sinir_jax.dip.double.tasks import segment
from sinir_jax.dip.double.tasks import separate
from sinir_jax.dip.double.tasks import separate_single

__all__ = ["DehazeResult", "DoubleDIPConfig", "SegmentResult", "SeparateResult",
           "WatermarkResult", "dehaze", "exclusion_loss", "preset_for", "remove_watermark",
           "remove_watermark_many", "segment", "separate", "separate_single"]
