"""Double-DIP's configuration: one frozen dataclass whose fields are also the CLI's flags.

Fields left None take the task's setting (``preset_for(task, preset)``): "official" is the
official scripts' (their nets, steps, learning rates and input depths), "cpu" the same nets with
fewer steps and one watermark run, small enough for a laptop CPU. The net fields, when set,
replace every generator net of the task (each keeps its output channels).
"""
import dataclasses

from sinir_jax.core import configs
from sinir_jax.core import conv
from sinir_jax.core.errors import InputError
from sinir_jax.dip import config as dip_config

_field = configs.field

TASKS = ("segment", "separate", "dehaze", "watermark", "separate_single")
PRESETS = ("official", "cpu")
_LIST_FIELDS = ("net_down", "net_up", "net_skip")

# The official nets, DIP's skip net with bilinear upsampling and reflection padding.
_SMALL3 = dict(down=(8, 16, 32), up=(8, 16, 32), skip=(0, 0, 0), filter=3)
_FIVE = dict(down=(8, 16, 32, 64, 128), up=(8, 16, 32, 64, 128), skip=(0, 0, 0, 4, 4))
_FIVE_F5 = dict(_FIVE, filter=5)
_FIVE_F3 = dict(_FIVE, filter=3)
_FOUR_F3 = dict(down=(8, 16, 32, 64), up=(8, 16, 32, 64), skip=(0, 0, 0, 4), filter=3)
# task: generator -> (output channels, net); 0 output channels: the image's.
NETS = {
    "segment": {"foreground": (0, _SMALL3), "background": (0, _SMALL3), "mask": (1, _SMALL3)},
    "separate": {"layer1": (0, _FIVE_F5), "layer2": (0, _FIVE_F5), "alpha1": (1, _FIVE_F5),
                 "alpha2": (1, _FIVE_F5)},
    "dehaze": {"image": (0, _FIVE_F3), "transmission": (1, _FIVE_F3),
               "airlight": (0, _FIVE_F3)},
    "watermark": {"clean": (0, _FIVE_F5), "watermark": (0, _FIVE_F5), "mask": (1, _FOUR_F3)},
    "separate_single": {"layer1": (0, _FIVE_F5), "layer2": (0, _FIVE_F5)},
    # ManyImagesWatermarkNoHint (``remove_watermark_many``, task "watermark"): one clean net per
    # image, a shared mask and watermark.
    "watermark_many": {"clean": (0, _FIVE_F5), "watermark": (0, _FIVE_F3), "mask": (1, _FIVE_F3)},
}

# segmentation.py: 2000 + 4000 steps; transparency_separation.py (TwoImagesSeparation): 4000;
# dehazing.py's dehaze(): two passes of 4000; watermarks_removal.py (remove_watermark): 3 runs
# of 4000 + 7000; Adam at 0.001. The single-image separation (Separation): 8000 steps at 0.0005.
_OFFICIAL = {
    "segment": dict(iters=2000, iters2=4000, input_depth=2, repeats=1),
    "separate": dict(iters=4000, iters2=0, input_depth=2, repeats=1),
    "dehaze": dict(iters=4000, iters2=4000, input_depth=8, repeats=1),
    "watermark": dict(iters=4000, iters2=7000, input_depth=2, repeats=3),
    "separate_single": dict(iters=8000, iters2=0, input_depth=3, repeats=1, lr=0.0005),
}
_CPU = {
    "segment": dict(iters=300, iters2=700),
    "separate": dict(iters=1500),
    "dehaze": dict(iters=600, iters2=600),
    "watermark": dict(iters=500, iters2=1000, repeats=1),
    "separate_single": dict(iters=2000),
}


def preset_for(task, preset="official"):
  """The setting of ``task`` under ``preset``: {field: value}."""
  if task not in TASKS:
    raise InputError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
  if preset not in PRESETS:
    raise InputError(f"unknown --preset {preset!r}: use one of {', '.join(PRESETS)}")
  values = dict({"lr": 0.001}, **_OFFICIAL[task])
  if preset == "cpu":
    values.update(_CPU[task])
  return values


_FROM_PRESET = "(default: from --task and --preset)"
_FROM_NETS = "(default: the task's official nets)"


@dataclasses.dataclass(frozen=True)
class DoubleDIPConfig(configs.ConfigBase):
  """Every Double-DIP setting (module docstring); None: the task's preset."""
  task: str | None = _field(None, "segment | separate | dehaze | watermark | separate_single (one "
                            "image: layer1 + layer2 = image)", choices=TASKS)
  preset: str = _field("official", "official (the official scripts' steps) | cpu (fewer steps, "
                       "one watermark run)", choices=PRESETS)
  iters: int | None = _field(None, f"steps of the first phase (segment, watermark: the hint "
                             f"phase; dehaze: the first pass; separate: all) {_FROM_PRESET}")
  iters2: int | None = _field(None, f"steps of the second phase (segment, watermark: the "
                              f"decomposition; dehaze: the second pass, if any; separate: unused) "
                              f"{_FROM_PRESET}")
  lr: float | None = _field(None, f"Adam learning rate {_FROM_PRESET}")
  input_depth: int | None = _field(None, f"channels of each net's noise input {_FROM_PRESET}")
  repeats: int | None = _field(None, f"watermark: independent runs whose median is the result "
                               f"{_FROM_PRESET}")
  exclusion_weight: float = _field(0.01, "separate, separate_single: weight of the exclusion "
                                   "loss (official: 0.01 for separate_single; 0.1 for separate, "
                                   "where it lets a low-contrast layer go flat: see "
                                   "tasks.separate)")
  net_down: tuple | None = _field(None, f"channels of each level's down convs of every net, "
                                  f"finest first, e.g. 8,16,32 {_FROM_NETS}", kind="str")
  net_up: tuple | None = _field(None, f"channels of each level's up convs {_FROM_NETS}",
                                kind="str")
  net_skip: tuple | None = _field(None, f"channels of each level's skip branch, 0 for none "
                                  f"{_FROM_NETS}", kind="str")
  filter_size: int | None = _field(None, f"filter size of the down and up convs {_FROM_NETS}")
  guided_radius: int | None = _field(None, "radius of the guided filter refining masks and "
                                     "transmission (default: the official 50, at most "
                                     "min(H, W) // 8 so that it stays local on small images)")
  guided_eps: float = _field(1e-4, "regularisation of the guided filter")
  dehaze_passes: int = _field(1, "dehaze: 1 (the result of the first pass) or 2 (the official "
                              "second pass on it, which over-dehazes; see tasks.dehaze)")
  dark_window: int = _field(15, "dehaze: the dark channel's window for the airlight (the "
                            "official 15; see sinir_jax/dip/double/refine.py)")
  dehaze_strength: float = _field(0.8, "dehaze: the fraction of the estimated haze removed, t "
                                  "-> 1 - s (1 - t) (He et al.'s omega; 1: the official code; "
                                  "see tasks.dehaze)")
  seed: int = _field(0, "the run's PRNG seed")
  log_every: int = _field(100, "report and record the loss every K steps")
  conv_impl: str = _field("auto", "3x3 conv implementation: auto | xla | winograd",
                          choices=conv.IMPLS)

  def __post_init__(self):
    dip_config.parse_channel_fields(self, _LIST_FIELDS)

  def resolved(self):
    """This config with every None field filled from the task's preset."""
    if self.task is None:
      raise InputError(f"pass --task: one of {', '.join(TASKS)}")
    changes = {k: v for k, v in preset_for(self.task, self.preset).items()
               if getattr(self, k) is None}
    return dataclasses.replace(self, **changes)

  def validate(self):
    """The ``resolved`` config, checked: InputError naming the first bad flag otherwise."""
    c = self.resolved()
    if c.guided_radius is not None and c.guided_radius < 1:
      raise InputError(f"--guided_radius must be >= 1, got {c.guided_radius}")
    for name in ("iters", "input_depth", "repeats", "log_every"):
      if getattr(c, name) < 1:
        raise InputError(f"--{name} must be >= 1, got {getattr(c, name)}")
    if c.dehaze_passes not in (1, 2):
      raise InputError(f"--dehaze_passes must be 1 or 2, got {c.dehaze_passes}")
    if c.dark_window < 1:
      raise InputError(f"--dark_window must be >= 1, got {c.dark_window}")
    if not 0 < c.dehaze_strength <= 1:
      raise InputError(f"--dehaze_strength must be in (0, 1], got {c.dehaze_strength}")
    second = ("segment", "watermark") + (("dehaze",) if c.dehaze_passes == 2 else ())
    if c.iters2 < 0 or (c.iters2 < 1 and c.task in second):
      raise InputError(f"--iters2 must be >= 1 for --task={c.task}, got {c.iters2}")
    if not c.exclusion_weight >= 0:
      raise InputError(f"--exclusion_weight must be >= 0, got {c.exclusion_weight}")
    if not c.lr > 0 or not c.guided_eps > 0:
      raise InputError(f"--lr and --guided_eps must be > 0, got {c.lr} and {c.guided_eps}")
    given = [getattr(c, name) is not None for name in _LIST_FIELDS]
    if any(given) and not all(given):
      raise InputError("--net_down, --net_up and --net_skip go together: pass all three")
    if all(given) and not len(c.net_down) == len(c.net_up) == len(c.net_skip):
      raise InputError("--net_down, --net_up and --net_skip need one entry per level")
    if c.filter_size is not None and (c.filter_size < 1 or c.filter_size % 2 == 0):
      raise InputError(f"--filter_size must be an odd number >= 1, got {c.filter_size}")
    if not -2**63 <= c.seed < 2**63:
      raise InputError(f"--seed must fit in 64 bits, got {c.seed}")
    return c

  def nets(self, channels, task=None):
    """{generator: its ``network.Skip``} of the resolved config for images of ``channels``
    (``task``: a ``NETS`` entry other than the config's task)."""
    nets = {}
    for name, (out, spec) in NETS[task or self.task].items():
      down = self.net_down or spec["down"]
      nets[name] = dip_config.net_for(_NetFields(
          net_down=down, net_up=self.net_up or spec["up"], net_skip=self.net_skip or spec["skip"],
          filter_down=self.filter_size or spec["filter"], filter_up=self.filter_size or
          spec["filter"], filter_skip=1, downsample="stride", upsample="bilinear",
          pad="reflection", need1x1_up=True, sigmoid=True, conv_impl=self.conv_impl),
          out or channels)
    return nets


@dataclasses.dataclass(frozen=True)
class _NetFields:
  """The fields ``dip.config.net_for`` reads, so the DIP net builder makes Double-DIP's."""
  net_down: tuple
  net_up: tuple
  net_skip: tuple
  filter_down: int
  filter_up: int
  filter_skip: int
  downsample: str
  upsample: str
  pad: str
  need1x1_up: bool
  sigmoid: bool
  conv_impl: str
