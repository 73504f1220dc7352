"""What the command-line tools share: flags made from config dataclasses, grouped ``--help``, and
every error as one line with exit code 2.

A tool defines its flags only when it runs (``run(main, define_flags, __doc__)`` under
``if __name__ == "__main__"``), so any set of tool modules imports together in one process, and
library code never reads flags: ``main`` turns them into a config object and calls the library.
"""
import dataclasses
import math
import os
import sys
import textwrap
import types

from absl import app
from absl import flags
from absl import logging
import jax

from sinir_jax.core import host_memory
from sinir_jax.core.errors import DiskFullError
from sinir_jax.core.errors import InputError

FLAGS = flags.FLAGS
_HELP = ("--help", "-help", "-h", "--h", "--helpshort", "-?")


class Command:
  """The flags of one tool, in titled groups, for ``--help``."""

  def __init__(self, doc):
    self.doc = doc.strip()
    self.groups = []

  def group(self, title, holders):
    """Records the flags of ``holders`` (absl FlagHolders, or names) under ``title``."""
    names = [h if isinstance(h, str) else h.name for h in holders]
    self.groups.append((title, names))
    return names

  def help_text(self):
    lines = [self.doc, ""]
    for title, names in self.groups:
      lines.append(f"{title}:")
      for name in names:
        text = _help_of(FLAGS[name])
        if "(default:" not in text:
          text += f" (default: {_shown(FLAGS[name])})"
        lines.append(textwrap.fill(f"--{name}: {text}", width=100, initial_indent="  ",
                                   subsequent_indent="      ", break_on_hyphens=False))
      lines.append("")
    lines += ["general:",
              "  --flagfile=FILE: read flags from FILE (configs/*.cfg hold the presets; later "
              "flags win)",
              "  --helpfull: also list the flags of the libraries (absl, JAX, orbax)"]
    return "\n".join(lines) + "\n"


def _shown(flag):
  value = flag.default
  if value is None:
    return "none"
  if isinstance(value, bool):
    return "true" if value else "false"
  if isinstance(value, (list, tuple)):
    return ",".join(map(str, value)) or "none"
  return repr(value) if isinstance(value, str) else str(value)


def _help_of(flag):
  text = flag.help or ""
  # absl prefixes an enum's help with its values; the help texts here list them already.
  if text.startswith("<") and ">: " in text:
    text = text.split(">: ", 1)[1]
  return text


def _field_kind(field):
  kind = field.metadata.get("kind")
  if kind:
    return kind
  annotation = field.type
  if isinstance(annotation, types.UnionType):
    args = [a for a in annotation.__args__ if a is not type(None)]
    annotation = args[0] if len(args) == 1 else str
  return {bool: "bool", int: "int", float: "float"}.get(annotation, "str")


def define_config_flags(config_cls, *, prefix="", exclude=()):
  """One flag per field of the dataclass ``config_cls`` (its name with ``prefix``, its
  default, the ``help`` of its metadata; ``choices`` make an enum, kind "shape" a string such
  as 250 or 120,80). Returns the flag names."""
  names = []
  for field in dataclasses.fields(config_cls):
    if field.name in exclude:
      continue
    name, default, help_text = prefix + field.name, field.default, field.metadata["help"]
    kind, choices = _field_kind(field), field.metadata.get("choices")
    if choices:
      flags.DEFINE_enum(name, default, list(choices), help_text)
    elif kind == "shape":
      shown = None if default is None else ",".join(map(str, _sides(default)))
      flags.DEFINE_string(name, shown, help_text + ": e.g. 250 or 120,80")
    elif kind == "bool":
      flags.DEFINE_bool(name, default, help_text)
    elif kind == "int":
      flags.DEFINE_integer(name, default, help_text)
    elif kind == "float":
      flags.DEFINE_float(name, default, help_text)
    else:
      flags.DEFINE_string(name, default, help_text)
    names.append(name)
  return names


def _sides(value):
  return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def config_from_flags(config_cls, *, prefix="", **overrides):
  """The ``config_cls`` that the parsed flags describe (fields without a flag keep their
  defaults), validated."""
  values = {}
  for field in dataclasses.fields(config_cls):
    name = prefix + field.name
    if name in FLAGS:
      value = FLAGS[name].value
      if _field_kind(field) == "shape":
        value = parse_img_shape(value, name)
      values[field.name] = value
  values.update(overrides)
  return config_cls(**values).validate()


def parse_img_shape(text, flag="img_shape"):
  """'250' -> 250, '120,80' -> (120, 80), None/'' -> None; positive sides only."""
  if text is None or text == "":
    return None
  if isinstance(text, (int, tuple)):
    return text
  try:
    sides = tuple(int(s) for s in text.split(","))
  except ValueError:
    sides = ()
  if len(sides) not in (1, 2) or min(sides) < 1:
    raise InputError(f"--{flag} must be a positive int (the longer side) or h,w such as "
                     f"120,80; got {text!r}")
  return sides[0] if len(sides) == 1 else sides


def positive_finite(value, flag, minimum=0.0):
  """``value`` if it is a finite number > ``minimum``, else InputError naming ``--flag``."""
  if value is None or not (math.isfinite(value) and value > minimum):
    raise InputError(f"--{flag} must be a finite number > {minimum:g}, got {value}")
  return value


class _CallableModule(types.ModuleType):
  def __call__(self, *args, **kwargs):
    return self.__function__(*args, **kwargs)


def callable_module(name, function):
  """Makes the module ``name`` callable as ``function``.

  ``sinir_jax.train`` is both a function of the API (``sj.train``) and a tool (``python -m
  sinir_jax.train``); importing the tool's module replaces the package's attribute with the
  module, so the module itself must still train when called.
  """
  module = sys.modules[name]
  module.__function__ = function
  module.__class__ = _CallableModule


def no_arguments(argv):
  if len(argv) > 1:
    raise InputError(f"unexpected arguments {argv[1:]}: flags look like --name=value")


def _one_line(text):
  return " ".join(str(text).split())


def parser(command):
  """absl's flags_parser for ``command``: --help and --helpfull print and exit 0; a bad flag or
  flagfile is one stderr line and exit 2."""
  def parse(argv):
    if any(arg in _HELP or arg.startswith("--help=") for arg in argv[1:]):
      sys.stdout.write(command.help_text())
      sys.exit(0)
    if "--helpfull" in argv[1:]:
      sys.stdout.write(command.help_text() + "\n" + FLAGS.get_help() + "\n")
      sys.exit(0)
    try:
      return FLAGS(argv)
    except flags.Error as e:
      message = _one_line(e).replace("ERROR:: ", "") or "bad flag"
      if "Unable to open flagfile" in message:
        message = (f"cannot read the flagfile {message.split('flagfile: ', 1)[-1]}: check "
                   f"the --flagfile path (configs/*.cfg are read from the repository root)")
    except UnicodeDecodeError as e:
      message = (f"a flagfile is not UTF-8 text ({_one_line(e)}): pass a text file of "
                 f"--name=value lines")
    except OSError as e:
      message = f"cannot read a flagfile ({e.strerror or _one_line(e)}): check --flagfile"
    print(f"error: {message} (see --help)", file=sys.stderr)
    sys.exit(2)

  return parse


def run(main, define_flags, doc):
  """Defines the tool's flags (``define_flags(command)``), parses them and runs ``main(argv)``
  (see ``guarded``)."""
  command = Command(doc)
  define_flags(command)
  app.run(guarded(main), flags_parser=parser(command))


def guarded(main):
  """``main`` as a tool runs it: bad input (``InputError``, a full disk included) becomes one
  stderr line and exit code 2; Ctrl-C exit code 130."""
  def run_main(argv):
    host_memory.keep_freed_host_memory()  # before JAX's threads allocate
    if not FLAGS["verbosity"].present:
      logging.set_verbosity(logging.WARNING)  # orbax and jax log every save and backend at INFO
    if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
      # Each scale compiles its own step (seconds on CPU); a rerun or resume reuses them.
      cache = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
      jax.config.update("jax_compilation_cache_dir", os.path.join(cache, "sinir_jax", "jax"))
    try:
      return main(argv)
    except DiskFullError as e:
      print(f"error: {_one_line(e)}", file=sys.stderr, flush=True)
      sys.stdout.flush()
      # The checkpoint writer's threads may still be failing on the full disk and would print
      # their tracebacks as the interpreter shuts down: end here.
      os._exit(2)  # pylint: disable=protected-access
    except InputError as e:
      print(f"error: {_one_line(e)}", file=sys.stderr)
      sys.exit(2)
    except KeyboardInterrupt:
      print("interrupted", file=sys.stderr)
      sys.exit(130)

  return run_main
