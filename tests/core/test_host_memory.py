"""keep_freed_host_memory: freed blocks are reused rather than faulted in again (subprocesses,
as the setting is process-wide)."""
import ctypes
import subprocess
import sys

import pytest

_FAULTS_PER_ALLOCATION = """
import resource, sys
import numpy as np
import sinir_jax as sj
if sys.argv[1] == "keep":
  assert sj.keep_freed_host_memory()
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
np.ones(1 << 24, np.float32)  # 64 MiB, allocated and freed, as XLA:CPU does with temporaries
before = faults()
for _ in range(5):
  np.ones(1 << 24, np.float32)
print((faults() - before) / 5)
"""


def _faults_per_allocation(mode):
  out = subprocess.run([sys.executable, "-c", _FAULTS_PER_ALLOCATION, mode], check=True,
                       capture_output=True, text=True, timeout=120).stdout
  return float(out.split()[-1])


@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallopt"), reason="malloc is not glibc's")
def test_freed_memory_is_reused_without_page_faults():
  default = _faults_per_allocation("default")
  kept = _faults_per_allocation("keep")
  # glibc unmaps the freed 64 MiB; the next one faults its pages in: 16384 of 4 KiB, or 32 where
  # transparent huge pages (2 MiB) back it.
  assert default > 16
  assert kept < default / 10
