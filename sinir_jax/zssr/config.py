"""ZSSR's configuration: one frozen dataclass whose fields are also the CLI's flags.

The defaults are the official code's (assafshocher/ZSSR ``configs.py``), with one choice of
ours: without explicit ``scale_factors`` the SR factor runs gradually, through geometric steps of
at most x2 (x2: one jump; x4: x2 then x4, as KernelGAN's copy of ZSSR runs x4; x8: 2, 4, 8),
each result joining the training sources; a given kernel runs one jump at its factor.
"""
import dataclasses
import math

from sinir_jax.core import configs
from sinir_jax.core import conv
from sinir_jax.core.errors import InputError

_field = configs.field

AUGMENT_FIELDS = ("leave_as_is_p", "no_interp_p", "min_scale", "scale_diff_sigma",
                  "shear_sigma", "allow_rotation")
# Fields that change how a run reports or is dispatched, not what it computes.
CADENCE_FIELDS = ("log_every", "steps_per_call")


def parse_factors(text):
  """'2' -> ((2, 2),); '1:1.5,1.5,2' -> ((1, 1.5), (1.5, 1.5), (2, 2)): factors (vertical,
  horizontal), each 'F' or 'V:H', comma-separated; InputError naming --scale_factors otherwise."""
  factors = []
  for part in str(text).split(","):
    try:
      sides = tuple(float(s) for s in part.split(":"))
    except ValueError:
      sides = ()
    if len(sides) == 1:
      sides = sides * 2
    if len(sides) != 2 or not all(math.isfinite(s) and s >= 1 for s in sides) or max(sides) == 1:
      raise InputError(f"--scale_factors must be factors >= 1 (not all 1) such as 2 or "
                       f"1:1.5,1.5,2; got {text!r}")
    factors.append(sides)
  return tuple(factors)


def gradual_factors(sr_factor):
  """The factors a run takes to reach ``sr_factor``: geometric steps of at most x2."""
  steps = max(1, math.ceil(math.log2(sr_factor) - 1e-9))
  return tuple((f, f) for f in (sr_factor ** ((i + 1) / steps) for i in range(steps)))


@dataclasses.dataclass(frozen=True)
class ZSSRConfig(configs.ConfigBase):
  """Every ZSSR parameter (official defaults; see the module docstring)."""
  sr_factor: float = _field(2.0, "the overall SR factor (> 1)")
  scale_factors: str = _field("", "the factors trained in turn, e.g. 2 or 1:1.5,1.5,2 (V:H pairs; "
                              "empty: from --sr_factor, gradual steps of at most x2)")
  width: int = _field(64, "channels of the hidden convs")
  depth: int = _field(8, "3x3 conv layers (ReLU between, no biases)")
  init_variance: float = _field(0.1, "weights ~ N(0, init_variance / fan_in)")
  crop_size: int = _field(128, "side of the 'father' crop each step trains on")
  lr: float = _field(1e-3, "Adam's initial learning rate (reset at every factor)")
  min_lr: float = _field(9e-6, "stop once the rate falls below this")
  max_iters: int = _field(3000, "steps per factor at most")
  min_iters: int = _field(256, "steps between two rate changes at least")
  lr_ratio: float = _field(1.5, "decay when -lr_ratio * slope < std of the fitted error line")
  policy_every: int = _field(60, "check the rate policy every K steps")
  test_every: int = _field(50, "measure the reconstruction error every K steps")
  slope_range: int = _field(256, "the policy fits the last slope_range // test_every errors")
  leave_as_is_p: float = _field(0.05, "probability of a plain crop (no augmentation)")
  no_interp_p: float = _field(0.45, "probability of a flip / 90-degree rotation only")
  min_scale: float = _field(0.5, "augmentation scales ~ U[min_scale, 1)")
  scale_diff_sigma: float = _field(0.25, "anisotropy of the augmentation scale (normal sigma)")
  shear_sigma: float = _field(0.1, "shear of the augmentation (normal sigma)")
  allow_rotation: bool = _field(True, "allow rotations and reflections in the augmentation")
  noise_std: float = _field(0.0, "std of Gaussian noise added to each son (0..1 scale)")
  back_projection_iters: str = _field("10", "back-projection iterations per factor (one value "
                                      "for all, or a comma-separated list)")
  output_flip: bool = _field(True, "test time: median of the 8 rotations/flips")
  kernel: str = _field("", "downscaling kernel (.npy or KernelGAN's .mat); empty: bicubic")
  conv_impl: str = _field("auto", "3x3 conv implementation: auto | xla | winograd",
                          choices=conv.IMPLS)
  seed: int = _field(0, "the run's seed (augmentations, noise, init)")
  log_every: int = _field(50, "report every K steps")
  steps_per_call: int = _field(1, "training steps per compiled call (K > 1 suits GPUs)")

  def factors(self):
    """The (vertical, horizontal) factors trained in turn."""
    if self.scale_factors:
      return parse_factors(self.scale_factors)
    if self.kernel:
      return ((self.sr_factor, self.sr_factor),)
    return gradual_factors(self.sr_factor)

  def bp_iters(self):
    """Back-projection iterations per factor."""
    values = [int(v) for v in str(self.back_projection_iters).split(",")]
    count = len(self.factors())
    return tuple(values * count if len(values) == 1 else values)

  def validate(self):
    """Raises InputError naming the first invalid field."""
    def fail(message):
      raise InputError(message)

    if not (math.isfinite(self.sr_factor) and self.sr_factor > 1):
      fail(f"--sr_factor must be a finite number > 1, got {self.sr_factor}")
    factors = self.factors()
    if self.scale_factors and any(abs(max(f) - self.sr_factor) > 1e-6 for f in factors[-1:]):
      fail(f"the last of --scale_factors ({factors[-1]}) must be --sr_factor ({self.sr_factor})")
    try:
      bp = self.bp_iters()
    except ValueError:
      bp = None
    if bp is None or len(bp) != len(factors) or min(bp) < 0:
      fail(f"--back_projection_iters must be one count >= 0 or one per factor ({len(factors)}), "
           f"got {self.back_projection_iters!r}")
    for name in ("width", "depth", "crop_size", "max_iters", "policy_every", "test_every",
                 "log_every", "steps_per_call"):
      if getattr(self, name) < 1:
        fail(f"--{name} must be >= 1, got {getattr(self, name)}")
    if self.depth < 2:
      fail(f"--depth must be >= 2, got {self.depth}")
    if self.slope_range < 2 * self.test_every:
      fail(f"--slope_range must cover two error tests (>= 2 x --test_every), got "
           f"{self.slope_range}")
    for name in ("lr", "min_lr", "init_variance", "lr_ratio"):
      if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
        fail(f"--{name} must be a positive number, got {getattr(self, name)}")
    for name in ("leave_as_is_p", "no_interp_p"):
      if not 0 <= getattr(self, name) <= 1:
        fail(f"--{name} must be in [0, 1], got {getattr(self, name)}")
    if self.leave_as_is_p + self.no_interp_p > 1:
      fail("--leave_as_is_p + --no_interp_p must be <= 1")
    if not 0 < self.min_scale <= 1:
      fail(f"--min_scale must be in (0, 1], got {self.min_scale}")
    for name in ("scale_diff_sigma", "shear_sigma", "noise_std"):
      if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
        fail(f"--{name} must be >= 0, got {getattr(self, name)}")
    if self.conv_impl not in conv.IMPLS:
      fail(f"unknown conv_impl {self.conv_impl!r}: use one of {', '.join(conv.IMPLS)}")
    if not -2**63 <= self.seed < 2**63:
      fail(f"seed must fit in 64 bits, got {self.seed}")
    if self.kernel and any(f[0] != f[1] or f[0] != round(f[0]) for f in factors):
      fail("a given --kernel needs whole, equal factors (e.g. --sr_factor=2 or 4)")
    return self


