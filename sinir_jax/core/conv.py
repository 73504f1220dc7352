"""3x3 convolutions with 1-pixel padding, and the one place their implementation is chosen.

``conv3x3_for(impl, padding)`` returns the function a network's layers call, chosen once where
the network is built (a field of the linen module, as flax's examples swap ``nn.Conv``):

- "xla": XLA's convolution of the padded input (cuDNN on GPUs picks its own algorithm).
- "winograd": ``sinir_jax.core.winograd`` (Winograd F(2x2, 3x3): 2.25x fewer multiplies).
- "auto": on CPU, Winograd for images of at least 48x48 px and XLA's conv below (faster there
  and 5x faster to compile); XLA's conv on every other backend.

All three compute the same sums; float32 results differ by rounding (~1e-6 relative).
"""
import functools

import jax

from sinir_jax.core import winograd

IMPLS = ("auto", "xla", "winograd")
PADDINGS = winograd.PADDINGS
WINOGRAD_MIN_PIXELS = 48 * 48


def xla_conv3x3(x, kernel, padding="reflect"):
  """XLA's VALID conv of ``x`` (N, H, W, in) padded by 1 with ``kernel`` (3, 3, in, out)."""
  return jax.lax.conv_general_dilated(winograd.pad(x, padding), kernel, (1, 1), "VALID",
                                      dimension_numbers=("NHWC", "HWIO", "NHWC"))


def cpu_conv3x3(x, kernel, padding="reflect"):
  """"auto" on CPU: Winograd from WINOGRAD_MIN_PIXELS pixels up, XLA's conv below."""
  if x.shape[-3] * x.shape[-2] >= WINOGRAD_MIN_PIXELS:
    return winograd.conv3x3(x, kernel, padding)
  return xla_conv3x3(x, kernel, padding)


def resolve(impl, backend=None):
  """The implementation ``impl`` stands for on ``backend`` (default: JAX's default backend):
  "xla" or "winograd", or "cpu" for the CPU's size rule."""
  if impl not in IMPLS:
    raise ValueError(f"conv_impl must be one of {IMPLS}, got {impl!r}")
  if impl != "auto":
    return impl
  return "cpu" if (backend or jax.default_backend()) == "cpu" else "xla"


@functools.lru_cache(maxsize=None)
def conv3x3_for(impl, padding="reflect", backend=None):
  """The conv3x3(x, kernel) function of implementation ``impl`` (IMPLS) and ``padding``; the
  same object for the same arguments, so that networks holding it compare equal (and jitted
  functions taking a network as a static argument do not recompile)."""
  if padding not in PADDINGS:
    raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
  fn = {"xla": xla_conv3x3, "winograd": winograd.conv3x3, "cpu": cpu_conv3x3}[
      resolve(impl, backend)]
  return functools.partial(fn, padding=padding)
