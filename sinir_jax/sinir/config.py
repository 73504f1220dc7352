"""Training configuration: one frozen dataclass whose field names are also the CLI's flags."""
import dataclasses
import math

from sinir_jax.core import configs
from sinir_jax.core import conv
from sinir_jax.core import resampling
from sinir_jax.core.errors import InputError
from sinir_jax.sinir import pyramid as pyramid_lib

_field = configs.field

TASKS = ("generic", "photo", "sr")
PRECISIONS = ("float32", "bfloat16")
# Fields that change how a run reports or is dispatched, not what it computes: a rerun may change
# them.
CADENCE_FIELDS = ("checkpoint_every", "preview_every", "log_every", "steps_per_call")


@dataclasses.dataclass(frozen=True)
class Config(configs.ConfigBase):
  """Every training parameter, with the release's defaults (spec sections 3 and 5)."""
  task: str = _field("generic", "generic | photo (factor 1, 2 scales) | sr (scales from sr_factor)",
                     choices=TASKS)
  img_shape: int | tuple[int, int] | None = _field(None, "first resize: longer side, or (h, w)",
                                                   kind="shape")
  min_size: int = _field(25, "shorter side of the coarsest level")
  max_size: int = _field(250, "longer side of the finest level")
  scale_factor: float = _field(0.75, "target factor between levels (adjusted to fit exactly)")
  num_scales: int | None = _field(None, "explicit number of scales (then scale_factor is used as is)")
  sr_factor: float = _field(2.0, "task sr: overall factor between coarsest and finest level")
  net_ch: int = _field(128, "channels of each scale's net")
  iters: int = _field(500, "training steps per scale")
  lr: float = _field(1e-4, "Adam learning rate, cosine-decayed to 0 over each scale")
  shuffle_p: float = _field(0.005, "probability that a pixel is shuffled")
  interp: str = _field("pytorch", "resampler: pytorch (bicubic, align_corners) | matlab (imresize)",
                       choices=resampling.METHODS)
  seed: int = _field(0, "the run's PRNG seed")
  precision: str = _field("float32", "conv compute dtype: float32 | bfloat16 (opt-in, faster on "
                          "GPU/TPU; params, Adam and loss stay float32)", choices=PRECISIONS)
  conv_impl: str = _field("auto", "3x3 conv implementation: auto (CPU: Winograd from 48x48 px, "
                          "XLA's conv below and on GPU/TPU) | xla | winograd", choices=conv.IMPLS)
  steps_per_call: int = _field(1, "training steps run as one compiled call (K > 1 suits GPUs and "
                               "TPUs; on CPU one step per call is fastest)")
  checkpoint_every: int = _field(0, "also checkpoint mid-scale every K steps (0: only finished scales)")
  preview_every: int = _field(0, "also write a reconstruction preview every K steps (0: scale ends)")
  log_every: int = _field(50, "report and record the loss every K steps")

  def __post_init__(self):
    if isinstance(self.img_shape, list):
      object.__setattr__(self, "img_shape", tuple(self.img_shape))

  def validate(self):
    """Raises InputError naming the first invalid field and what to do."""
    def fail(message):
      raise InputError(message)

    if self.task not in TASKS:
      fail(f"unknown task {self.task!r}: use one of {', '.join(TASKS)}")
    if self.interp not in resampling.METHODS:
      fail(f"unknown interp {self.interp!r}: use one of {', '.join(resampling.METHODS)}")
    if self.precision not in PRECISIONS:
      fail(f"unknown precision {self.precision!r}: use one of {', '.join(PRECISIONS)}")
    if self.conv_impl not in conv.IMPLS:
      fail(f"unknown conv_impl {self.conv_impl!r}: use one of {', '.join(conv.IMPLS)}")
    shape = self.img_shape
    if shape is not None:
      sides = (shape,) if isinstance(shape, int) else shape
      if len(sides) not in (1, 2) or any(not isinstance(s, int) or s < 1 for s in sides):
        fail(f"img_shape must be a positive int (longer side) or h,w; got {shape!r}")
    if self.min_size < 1:
      fail(f"min_size must be >= 1, got {self.min_size}")
    if self.min_size >= self.max_size:
      fail(f"min_size ({self.min_size}) must be smaller than max_size ({self.max_size})")
    if not 0 < self.scale_factor < 1:
      fail(f"scale_factor must be in (0, 1), got {self.scale_factor}")
    if self.num_scales is not None and self.num_scales < (2 if self.task == "sr" else 1):
      fail(f"num_scales must be >= {2 if self.task == 'sr' else 1}, got {self.num_scales}")
    if not self.sr_factor > 1:
      fail(f"sr_factor must be > 1, got {self.sr_factor}")
    if self.net_ch < 2 or self.net_ch % 2:
      fail(f"net_ch must be an even number >= 2, got {self.net_ch}")
    if self.iters < 1:
      fail(f"iters must be >= 1, got {self.iters}")
    if not (self.lr > 0 and math.isfinite(self.lr)):
      fail(f"lr must be a positive number, got {self.lr}")
    if not -2**63 <= self.seed < 2**63:
      fail(f"seed must fit in 64 bits (-2**63 <= seed < 2**63), got {self.seed}")
    if not 0 <= self.shuffle_p <= 1:
      fail(f"shuffle_p must be in [0, 1], got {self.shuffle_p}")
    for name in ("checkpoint_every", "preview_every"):
      if getattr(self, name) < 0:
        fail(f"{name} must be >= 0, got {getattr(self, name)}")
    for name in ("log_every", "steps_per_call"):
      if getattr(self, name) < 1:
        fail(f"{name} must be >= 1, got {getattr(self, name)}")
    return self


@dataclasses.dataclass(frozen=True)
class ScalePlan:
  """How an image is trained: its finest size, the factor between levels, the level sizes."""
  factor: float
  sizes: tuple[tuple[int, int], ...]  # coarsest first; the last is the training size

  @property
  def num_scales(self):
    return len(self.sizes)


def plan_scales(config, h, w):
  """The scale plan for an (h, w) image (already resized by img_shape), per spec section 3."""
  if config.task == "photo":
    factor, num_scales, size = 1.0, 2, (h, w)
  elif config.task == "sr":
    num_scales = config.num_scales or 2
    factor, size = 1 / config.sr_factor ** (1 / (num_scales - 1)), (h, w)
  elif config.num_scales is not None:
    factor, num_scales, size = config.scale_factor, config.num_scales, (h, w)
  else:
    if min(h, w) < config.min_size:
      raise InputError(
          f"image is {h}x{w} but min_size is {config.min_size}: use a larger image or a "
          f"smaller --min_size")
    short = round(min(h, w) * config.max_size / max(h, w))
    if short < config.min_size:
      raise InputError(
          f"at --max_size={config.max_size} this {h}x{w} image's shorter side is {short} px, "
          f"below --min_size={config.min_size}: raise --max_size or lower --min_size")
    factor, num_scales, size = pyramid_lib.scale_params(
        h, w, config.min_size, config.max_size, config.scale_factor)
  sizes = tuple(pyramid_lib.pyramid_sizes(*size, num_scales, factor))
  if min(sizes[0]) < 1:
    raise InputError(
        f"the coarsest level would be {sizes[0][0]}x{sizes[0][1]}: use fewer scales, a larger "
        f"image or a factor closer to 1")
  return ScalePlan(factor=factor, sizes=sizes)
