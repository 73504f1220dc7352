"""The one way files are written: atomically, never through a symlink, a full disk as one line.

- ``write_atomic``: the bytes go to a fresh temporary file beside the target (``O_EXCL``), are
  fsynced, then renamed over it, so the target never holds a partial file and a symlink in its
  place is replaced, not followed.
- ``append_line``: appends to a log opened with ``O_NOFOLLOW``: a symlink there is refused.
- A full disk (``ENOSPC``, ``EDQUOT``) raises ``DiskFullError`` naming the folder and the bytes the
  write needed; the target is left as it was.
"""
import errno
import io
import json
import os
import secrets
import shutil

from sinir_jax.core.errors import DiskFullError
from sinir_jax.core.errors import InputError

_FULL = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(error):
  """Whether ``error`` (any exception) says the disk or quota is full."""
  if isinstance(error, OSError) and error.errno in _FULL:
    return True
  # tensorstore (orbax's writer) reports it as a ValueError or RuntimeError carrying the text.
  return "No space left on device" in str(error) or "Disk quota exceeded" in str(error)


def disk_full(path, needed_bytes):
  """The ``DiskFullError`` of a write of ``needed_bytes`` into ``path``'s folder."""
  folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
  try:
    free = f", {shutil.disk_usage(folder).free:,} free"
  except OSError:
    free = ""
  return DiskFullError(f"no space left on the disk of {folder!r}: writing {os.path.basename(path)!r} "
                       f"needs {needed_bytes:,} bytes{free}; free some space and rerun the same "
                       f"command (what was saved before is kept)")


def _as_bytes(content):
  if isinstance(content, str):
    return content.encode("utf-8")
  if callable(content):  # a writer of a binary file object, e.g. an image encoder
    buffer = io.BytesIO()
    content(buffer)
    return buffer.getvalue()
  return bytes(content)


def _write_all(fd, data):
  """``os.write`` until every byte of ``data`` is written to ``fd``."""
  view = memoryview(data)
  while view:
    view = view[os.write(fd, view):]


def write_atomic(path, content):
  """Writes ``content`` (str, bytes, or a function writing to a binary file) to ``path``.

  The parent folders are made. Raises ``DiskFullError`` when the disk is full and ``OSError``
  for other failures; either way ``path`` keeps its previous content.
  """
  data = _as_bytes(content)
  path = os.path.abspath(os.fspath(path))
  folder, name = os.path.split(path)
  tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
  try:
    os.makedirs(folder, exist_ok=True)
    # mode 0o666 lets the umask apply as for a plain open.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    try:
      try:
        _write_all(fd, data)
        os.fsync(fd)  # data on disk before the rename makes it visible
      finally:
        os.close(fd)
      os.replace(tmp, path)
    except BaseException:
      try:
        os.unlink(tmp)
      except FileNotFoundError:
        pass
      raise
  except OSError as e:
    if is_disk_full(e):
      raise disk_full(path, len(data)) from None
    raise


def write_json(path, value):
  write_atomic(path, json.dumps(value, indent=1) + "\n")


def read_json(path):
  """The JSON value stored at ``path``; InputError (one line) when it is unreadable or damaged."""
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  except (OSError, UnicodeDecodeError, ValueError) as e:
    reason = getattr(e, "strerror", None) or " ".join(str(e).split())
    raise InputError(f"{path!r} is unreadable or damaged ({reason})") from None


def read_jsonl(path):
  """The JSON objects of the lines of ``path`` (a log): [] if it is missing; lines that are not
  JSON objects (a torn last line, damage) are skipped."""
  records = []
  try:
    with open(path, encoding="utf-8", errors="replace") as f:
      for line in f:
        try:
          record = json.loads(line)
        except ValueError:
          continue
        if isinstance(record, dict):
          records.append(record)
  except FileNotFoundError:
    pass
  return records


def append_line(path, line):
  """Appends ``line`` and a newline to the text file ``path`` (made if missing), never through
  a symlink (``InputError``)."""
  data = (line + "\n").encode("utf-8")
  try:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
  except OSError as e:
    if e.errno == errno.ELOOP:
      raise InputError(f"{path!r} is a symbolic link: sinir_jax writes only its own files; "
                       f"remove the link") from None
    if is_disk_full(e):
      raise disk_full(path, len(data)) from None
    raise
  try:
    _write_all(fd, data)
  except OSError as e:
    if is_disk_full(e):
      raise disk_full(path, len(data)) from None
    raise
  finally:
    os.close(fd)
