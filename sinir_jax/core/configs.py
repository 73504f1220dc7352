"""What every method's config shares: frozen dataclasses whose fields are the CLI's flags.

A field's metadata holds its flag's ``help``, and ``choices`` (an enum) or ``kind`` ("shape": an
int or h,w; "str": a string the config parses itself); ``core.cli.define_config_flags`` makes the
flags from them. ``ConfigBase`` gives a config its dict and flagfile forms.
"""
import dataclasses


def field(default, help_text, **metadata):
  """A config field with its flag's help text and ``choices`` or ``kind``."""
  return dataclasses.field(default=default, metadata={"help": help_text, **metadata})


class ConfigBase:
  """Mixed into a frozen config dataclass: ``to_flags``, ``to_dict``, ``from_dict``, ``replace``."""

  def to_flags(self):
    """``--field=value`` lines for every set field, as in an absl flagfile."""
    lines = []
    for name, value in self.to_dict().items():
      if value is None:
        continue
      if isinstance(value, (tuple, list)):
        value = ",".join(str(v) for v in value)
      elif isinstance(value, bool):
        value = str(value).lower()
      lines.append(f"--{name}={value}")
    return lines

  def to_dict(self):
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values):
    """The config of ``values``, a stored dict: unknown keys are dropped, missing fields take
    their defaults (a config written before a field existed reads as that default)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})

  def replace(self, **changes):
    return dataclasses.replace(self, **changes)
