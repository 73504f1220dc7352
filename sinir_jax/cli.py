"""What the command-line entry points share: Config flags, and errors as one line + exit 2."""
import dataclasses
import sys

from absl import app
from absl import flags
from absl import logging

from sinir_jax import config as config_lib
from sinir_jax import io as io_lib

_ENUMS = {"task": config_lib.TASKS, "interp": ("pytorch", "matlab")}


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
    if not flags.FLAGS["verbosity"].present:
      logging.set_verbosity(logging.WARNING)  # orbax and jax log every save and backend at INFO
    try:
      return main(argv)
    except io_lib.InputError as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(2)
    except KeyboardInterrupt:
      print("interrupted", file=sys.stderr)
      sys.exit(130)

  app.run(guarded, flags_parser=_parse_flags)
