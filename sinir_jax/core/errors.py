"""The errors a user sees as one line (the command-line tools print them and exit 2)."""


class InputError(ValueError):
  """Bad user input; the message is one line saying what is wrong and what to do."""


class DiskFullError(InputError):
  """A write found the disk (or quota) full; the message names the folder and the bytes needed."""
