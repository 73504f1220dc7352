"""Deep Image Prior's configuration: one frozen dataclass whose fields are also the CLI's flags.

Fields left None take their task's official setting (``preset_for``; the notebooks' values),
and net fields left None take the net preset's (``NETS``), so ``DIPConfig(task="sr")`` and
``python -m sinir_jax.dip --task=sr`` run the official x4 setting; explicit values (fields,
flags, flagfiles) win. ``validate`` fills them in (``resolved``) and checks every field.
"""
import dataclasses
import math

from sinir_jax.core import configs
from sinir_jax.core import conv
from sinir_jax.core.errors import InputError
from sinir_jax.dip import inputs
from sinir_jax.dip import network

_field = configs.field

TASKS = ("denoise", "sr", "inpaint")
SR_FACTORS = (4, 8)
# Fields that change how a run reports, not what it computes.
CADENCE_FIELDS = ("log_every", "snapshot_every", "steps_per_call")
_LIST_FIELDS = ("net_down", "net_up", "net_skip")

# The official nets: models/__init__.py's get_net('skip') as the denoising and SR notebooks call
# it, and the nets the notebooks build themselves.
_FIVE = (128,) * 5
NETS = {
    # F16 denoising, SR x4 / x8 (2,217,831 params with a 32-channel input)
    "skip": dict(net_down=_FIVE, net_up=_FIVE, net_skip=(4,) * 5, filter_down=3, filter_up=3,
                 filter_skip=1, upsample="bilinear", need1x1_up=True),
    # the snail JPEG (3-channel input: 572,827)
    "snail": dict(net_down=(8, 16, 32, 64, 128), net_up=(8, 16, 32, 64, 128),
                  net_skip=(0, 0, 0, 4, 4), filter_down=3, filter_up=3, filter_skip=1,
                  upsample="bilinear", need1x1_up=True),
    # kate / peppers inpainting (3,002,627)
    "kate": dict(net_down=_FIVE, net_up=_FIVE, net_skip=_FIVE, filter_down=3, filter_up=3,
                 filter_skip=1, upsample="nearest", need1x1_up=True),
    # vase inpainting, meshgrid input (2,157,955)
    "vase": dict(net_down=_FIVE, net_up=_FIVE, net_skip=(0,) * 5, filter_down=3, filter_up=3,
                 filter_skip=1, upsample="nearest", need1x1_up=True),
    # library inpainting, 'skip_depth6' (1-channel input: 2,996,467)
    "library": dict(net_down=(16, 32, 64, 128, 128, 128), net_up=(16, 32, 64, 128, 128, 128),
                    net_skip=(0,) * 6, filter_down=5, filter_up=3, filter_skip=1,
                    upsample="nearest", need1x1_up=False),
}


def preset_for(task, sr_factor=4):
  """The official setting of ``task`` (for sr, of ``sr_factor``): {field: value}.

  denoise: the F16 notebook (3000 steps, perturbation 1/30, backtracking); sr: the zebra
  notebook (x4: 2000 steps and 0.03, x8: 4000 and 0.05); inpaint: kate (6001 steps, 0.03, the
  skip-128 net with nearest upsampling). All: a 32-channel U[0, 0.1) noise input, Adam at 0.01.
  """
  common = dict(input="noise", input_depth=32, es_patience=0)
  if task == "denoise":
    # ES-WMV's patience (its notebook's 1000): the official net fits the noise of small crops
    # by step 3000, and the variance then falls again below the minimum of the turn.
    return dict(common, net="skip", iters=3000, reg_noise_std=1 / 30, backtrack=True,
                es_patience=1000)
  if task == "sr":
    iters, reg = {4: (2000, 0.03), 8: (4000, 0.05)}[sr_factor]
    return dict(common, net="skip", iters=iters, reg_noise_std=reg, backtrack=False)
  if task == "inpaint":
    return dict(common, net="kate", iters=6001, reg_noise_std=0.03, backtrack=False)
  raise InputError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")


_FROM_PRESET = "(default: from --task's official setting)"
_FROM_NET = "(default: from the --net preset)"


@dataclasses.dataclass(frozen=True)
class DIPConfig(configs.ConfigBase):
  """Every Deep Image Prior setting (module docstring); None: the task's or net's preset."""
  task: str | None = _field(None, "denoise | sr (super-resolution) | inpaint", choices=TASKS)
  sr_factor: int = _field(4, "task sr: the upscaling factor, 4 or 8")
  net: str | None = _field(None, f"net preset: {' | '.join(NETS)} {_FROM_PRESET}",
                           choices=tuple(NETS))
  net_down: tuple | None = _field(None, f"channels of each level's down convs, finest first, "
                                  f"e.g. 128,128,128,128,128 (the length is the depth) "
                                  f"{_FROM_NET}", kind="str")
  net_up: tuple | None = _field(None, f"channels of each level's up convs {_FROM_NET}",
                                kind="str")
  net_skip: tuple | None = _field(None, f"channels of each level's skip branch, 0 for none "
                                  f"{_FROM_NET}", kind="str")
  filter_down: int | None = _field(None, f"filter size of the down convs {_FROM_NET}")
  filter_up: int | None = _field(None, f"filter size of the up convs {_FROM_NET}")
  filter_skip: int | None = _field(None, f"filter size of the skip convs {_FROM_NET}")
  upsample: str | None = _field(None, f"2x upsampling: nearest | bilinear {_FROM_NET}",
                                choices=network.UPSAMPLE)
  need1x1_up: bool | None = _field(None, f"a 1x1 conv after each up conv {_FROM_NET}")
  downsample: str = _field("stride", "downsampling: stride (stride-2 convs) | avg | max "
                           "(2x2 pooling after a stride-1 conv)", choices=network.DOWNSAMPLE)
  pad: str = _field("reflection", "conv padding: reflection | zero", choices=network.PADS)
  sigmoid: bool = _field(True, "a sigmoid on the output")
  input: str | None = _field(None, f"the net's input: noise (U[0, input_scale)) | meshgrid "
                             f"(2 channels) {_FROM_PRESET}", choices=inputs.KINDS)
  input_depth: int | None = _field(None, f"channels of the noise input {_FROM_PRESET}")
  input_scale: float = _field(0.1, "the noise input is U[0, 1) times this")
  reg_noise_std: float | None = _field(None, f"std of the Gaussian added to the input at every "
                                       f"step, 0 for none {_FROM_PRESET}")
  lr: float = _field(0.01, "Adam learning rate (constant)")
  iters: int | None = _field(None, f"optimisation steps {_FROM_PRESET}")
  ema: float = _field(0.99, "weight of the running average of the outputs (the smoothed result)")
  backtrack: bool | None = _field(None, f"restore the last weights when the fit PSNR drops by "
                                  f"more than backtrack_drop dB (the official denoising "
                                  f"notebook) {_FROM_PRESET}")
  backtrack_drop: float = _field(5.0, "the drop (dB) that triggers backtracking")
  backtrack_every: int = _field(100, "backtracking is not checked at multiples of this step "
                                "count (the notebook's show_every)")
  es_window: int = _field(100, "early stopping: outputs in the running-variance window (0: no "
                          "variance tracking and no auto output)")
  es_patience: int | None = _field(None, "early stopping: stop once the windowed variance has "
                                   "not reached a new minimum for this many steps (0: never "
                                   "stop early; the minimum's output is kept either way) "
                                   "(default: 1000 for denoise, 0 otherwise)")
  seed: int = _field(0, "the run's PRNG seed")
  log_every: int = _field(50, "report and record the loss every K steps")
  snapshot_every: int = _field(500, "save the output and its running average every K steps (0: "
                               "never)")
  steps_per_call: int = _field(1, "steps run as one compiled call (K > 1 suits GPUs and TPUs)")
  conv_impl: str = _field("auto", "3x3 conv implementation: auto (CPU: Winograd from 48x48 px) "
                          "| xla | winograd", choices=conv.IMPLS)

  def __post_init__(self):
    parse_channel_fields(self, _LIST_FIELDS)

  def resolved(self):
    """This config with every None field filled from its task's and net's presets."""
    if self.task is None:
      raise InputError(f"pass --task: one of {', '.join(TASKS)}")
    if self.task not in TASKS:
      raise InputError(f"unknown --task {self.task!r}: use one of {', '.join(TASKS)}")
    if self.sr_factor not in SR_FACTORS:
      _bad_factor(self.sr_factor)
    changes = {k: v for k, v in preset_for(self.task, self.sr_factor).items()
               if getattr(self, k) is None}
    changes["sr_factor"] = int(self.sr_factor)  # 4.0 -> 4
    net = changes.get("net", self.net)
    if net not in NETS:
      raise InputError(f"unknown --net {net!r}: use one of {', '.join(NETS)}")
    changes.update({k: v for k, v in NETS[net].items() if getattr(self, k) is None})
    return dataclasses.replace(self, **changes)

  def validate(self):
    """The ``resolved`` config, checked: InputError naming the first bad flag otherwise."""
    c = self.resolved()

    def fail(message):
      raise InputError(message)

    depth = len(c.net_down)
    if not len(c.net_up) == len(c.net_skip) == depth:
      fail(f"--net_down, --net_up and --net_skip need one entry per level, got {depth}, "
           f"{len(c.net_up)} and {len(c.net_skip)}")
    for name in ("net_down", "net_up"):
      if min(getattr(c, name)) < 1:
        fail(f"--{name} channels must be >= 1, got {_shown(getattr(c, name))}")
    if min(c.net_skip) < 0:
      fail(f"--net_skip channels must be >= 0, got {_shown(c.net_skip)}")
    for name in ("filter_down", "filter_up", "filter_skip"):
      size = getattr(c, name)
      if size < 1 or size % 2 == 0:
        fail(f"--{name} must be an odd number >= 1, got {size}")
    if c.upsample not in network.UPSAMPLE:
      fail(f"unknown --upsample {c.upsample!r}: use one of {', '.join(network.UPSAMPLE)}")
    if c.downsample not in network.DOWNSAMPLE:
      fail(f"unknown --downsample {c.downsample!r}: use one of {', '.join(network.DOWNSAMPLE)}")
    if c.pad not in network.PADS:
      fail(f"unknown --pad {c.pad!r}: use one of {', '.join(network.PADS)}")
    if c.conv_impl not in conv.IMPLS:
      fail(f"unknown --conv_impl {c.conv_impl!r}: use one of {', '.join(conv.IMPLS)}")
    if c.input not in inputs.KINDS:
      fail(f"unknown --input {c.input!r}: use one of {', '.join(inputs.KINDS)}")
    if c.input_depth < 1:
      fail(f"--input_depth must be >= 1, got {c.input_depth}")
    if c.input == "meshgrid" and c.input_depth != 2:
      fail(f"--input=meshgrid has 2 channels: pass --input_depth=2, got {c.input_depth}")
    _positive(c.input_scale, "input_scale")
    _positive(c.lr, "lr")
    if not (math.isfinite(c.reg_noise_std) and c.reg_noise_std >= 0):
      fail(f"--reg_noise_std must be a finite number >= 0, got {c.reg_noise_std}")
    if not 0 <= c.ema < 1:
      fail(f"--ema must be in [0, 1), got {c.ema}")
    _positive(c.backtrack_drop, "backtrack_drop")
    if c.es_window == 1 or c.es_window < 0:
      fail(f"--es_window must be 0 (off) or >= 2, got {c.es_window}")
    if c.es_patience < 0:
      fail(f"--es_patience must be >= 0, got {c.es_patience}")
    if c.es_patience and not c.es_window:
      fail("--es_patience needs the variance window: pass --es_window >= 2")
    if not -2**63 <= c.seed < 2**63:
      fail(f"--seed must fit in 64 bits (-2**63 <= seed < 2**63), got {c.seed}")
    for name in ("iters", "backtrack_every", "log_every", "steps_per_call"):
      if getattr(c, name) < 1:
        fail(f"--{name} must be >= 1, got {getattr(c, name)}")
    if c.snapshot_every < 0:
      fail(f"--snapshot_every must be >= 0, got {c.snapshot_every}")
    return c

  @property
  def depth(self):
    return len(self.net_down)


def parse_channel_fields(config, names):
  """Turns the channel-list fields ``names`` of a frozen config, given as '16,32' text (a flag)
  or a list (JSON), into tuples, so that configs compare and hash alike."""
  for name in names:
    value = getattr(config, name)
    if isinstance(value, str):
      object.__setattr__(config, name, _parse_channels(value, name))
    elif isinstance(value, list):
      object.__setattr__(config, name, tuple(value))


def _parse_channels(text, name):
  try:
    values = tuple(int(v) for v in text.split(","))
  except ValueError:
    values = ()
  if not values:
    raise InputError(f"--{name} must be comma-separated channel counts such as 128,128,128, "
                     f"got {text!r}")
  return values


def _shown(values):
  return ",".join(map(str, values))


def _positive(value, name):
  if not (math.isfinite(value) and value > 0):
    raise InputError(f"--{name} must be a finite number > 0, got {value}")


def _bad_factor(factor):
  if factor <= 1:
    raise InputError(f"--sr_factor must be > 1 (the upscaling factor), got {factor}")
  raise InputError(f"--sr_factor={factor} is not supported: use one of "
                   f"{', '.join(map(str, SR_FACTORS))} (the official settings)")


def net_for(config, out_channels):
  """The ``network.Skip`` of a resolved config, with ``out_channels`` outputs."""
  return network.Skip(down=config.net_down, up=config.net_up, skip=config.net_skip,
                      filter_down=config.filter_down, filter_up=config.filter_up,
                      filter_skip=config.filter_skip, out_channels=out_channels,
                      downsample=config.downsample, upsample=config.upsample, pad=config.pad,
                      need1x1_up=config.need1x1_up, sigmoid=config.sigmoid,
                      conv_impl=config.conv_impl)
