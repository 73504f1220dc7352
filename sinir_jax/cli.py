"""What the command-line entry points share: Config flags, and errors as one line + exit 2."""
import dataclasses
import os
import sys

from absl import app
from absl import flags
from absl import logging
import jax

from sinir_jax import config as config_lib
from sinir_jax import host_memory
from sinir_jax import io as io_lib

_ENUMS = {"task": config_lib.TASKS, "interp": ("pytorch", "matlab"),
          "precision": config_lib.PRECISIONS}


def define_config_flags(exclude=()):
  """Defines one absl flag per Config field (same name, default and help)."""
  for field in dataclasses.fields(config_lib.Config):
    if field.name in exclude:
      continue
    name, default, help_text = field.name, field.default, field.metadata["help"]
    if name in _ENUMS:
      flags.DEFINE_enum(name, default, _ENUMS[name], help_text)
    elif name == "img_shape":
      flags.DEFINE_string(name, None, help_text + ": e.g. 250 or 120,80")
    elif field.type in ("int", "int | None") or field.type in (int, int | None):
      flags.DEFINE_integer(name, default, help_text)
    else:
      flags.DEFINE_float(name, default, help_text)


def parse_img_shape(text):
  """'250' -> 250, '120,80' -> (120, 80), None/'' -> None."""
  if not text:
    return None
  try:
    sides = tuple(int(s) for s in text.split(","))
  except ValueError:
    raise io_lib.InputError(
        f"img_shape must be an int (longer side) or h,w such as 120,80; got {text!r}") from None
  return sides[0] if len(sides) == 1 else sides


def config_from_flags(**overrides):
  """The Config the parsed flags describe (fields without a flag keep their defaults)."""
  values = {}
  for field in dataclasses.fields(config_lib.Config):
    if field.name in flags.FLAGS:
      values[field.name] = flags.FLAGS[field.name].value
  values["img_shape"] = parse_img_shape(values.get("img_shape"))
  values.update(overrides)
  return config_lib.Config(**values).validate()


def define_infer_flags(prefix=""):
  """Flags of one inference run; the train CLI defines them with prefix "infer_"."""
  flags.DEFINE_string(prefix + "input", None, "image to manipulate")
  flags.DEFINE_string(prefix + "entry_scale", "all", "entry scale K (0 = coarsest, negative "
                      "counts from the finest, -1 = finest) or 'all'")
  flags.DEFINE_enum(prefix + "task", None, ["edit", "harmonization"],
                    "masked task, with --" + prefix + "mask")
  flags.DEFINE_string(prefix + "mask", None, "mask image: white marks the region to change")
  flags.DEFINE_string(prefix + "img_shape", None, "first resize of the input: longer side, or "
                      "h,w")
  flags.DEFINE_bool(prefix + "use_last_net_only", False, "run the finest net at every scale")
  flags.DEFINE_float(prefix + "sr_factor", None, "super-resolve by this factor (> 1) instead")


def infer_options(prefix=""):
  """The keyword arguments of ``manipulate.write_manipulations`` from the infer flags."""
  value = lambda name: flags.FLAGS[prefix + name].value
  entry = value("entry_scale")
  if entry != "all":
    try:
      entry = int(entry)
    except ValueError:
      raise io_lib.InputError(f"entry_scale must be an int or 'all', got {entry!r}") from None
  return dict(entry_scale=entry, mask_path=value("mask"), task=value("task"),
              img_shape=parse_img_shape(value("img_shape")),
              use_last_net_only=value("use_last_net_only"), sr_factor=value("sr_factor"))


def infer_dir_name(input_path, options):
  stem = os.path.splitext(os.path.basename(input_path))[0]
  if options["sr_factor"]:
    return f"{stem}_sr_x{options['sr_factor']:g}"
  return f"{stem}_{options['task']}" if options["task"] else stem


def _parse_flags(argv):
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    message = str(e).splitlines()[0] if str(e) else "bad flag"
    print(f"error: {message} (see --help)", file=sys.stderr)
    sys.exit(2)


def run(main):
  """Runs ``main`` under absl; InputError (bad input) becomes one stderr line and exit 2."""
  def guarded(argv):
    host_memory.keep_freed_host_memory()  # before JAX's threads allocate
    if not flags.FLAGS["verbosity"].present:
      logging.set_verbosity(logging.WARNING)  # orbax and jax log every save and backend at INFO
    if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
      # Each scale compiles its own step (seconds on CPU); a rerun or resume reuses them.
      cache = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
      jax.config.update("jax_compilation_cache_dir", os.path.join(cache, "sinir_jax", "jax"))
    try:
      return main(argv)
    except io_lib.InputError as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(2)
    except KeyboardInterrupt:
      print("interrupted", file=sys.stderr)
      sys.exit(130)

  app.run(guarded, flags_parser=_parse_flags)
