"""Scale parameters and image pyramids (spec section 3). Index 0 is the coarsest level."""
import math

from sinir_jax.core import resampling


def scale_params(h, w, min_size, max_size, scale_factor):
  """The release's default scale plan for an (h, w) training image.

  Returns:
    (effective_factor, num_scales, (new_h, new_w)): the factor between consecutive levels
    (close to ``scale_factor``, chosen so the levels span max_size down to min_size exactly),
    the number of levels, and the size the training image is first resized to.
  """
  long_side, short_side = max(h, w), min(h, w)
  long_max = round(long_side * (max_size / long_side))
  short_max = round(short_side * (max_size / long_side))
  long_min = round(long_side * (min_size / short_side))
  steps = math.ceil(math.log(long_min / long_max, scale_factor)) + 1
  factor = 1 / math.exp(math.log(long_max / long_min) * (1 / steps))
  new_size = (long_max, short_max) if h > w else (short_max, long_max)
  return factor, steps + 1, new_size


def pyramid_sizes(h, w, num_scales, factor):
  """Sizes of the pyramid of an (h, w) finest level, coarsest first."""
  sizes, running = [(h, w)], 1.0
  for _ in range(num_scales - 1):
    running *= factor
    sizes.append((round(h * running), round(w * running)))
  return sizes[::-1]


def build_pyramid(image, num_scales, factor, method):
  """Builds the pyramid of ``image`` ((H, W, C) or (N, H, W, C)), coarsest first.

  Each level is resampled from the previous (finer) one, as the release does, to
  ``(round(H * f), round(W * f))`` with f the running product of ``factor``.
  """
  h, w = image.shape[-3:-1]
  levels = [image]
  for size in pyramid_sizes(h, w, num_scales, factor)[-2::-1]:
    levels.append(resampling.resize(levels[-1], size, method))
  return levels[::-1]
