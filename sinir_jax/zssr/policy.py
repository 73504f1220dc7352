"""ZSSR's learning-rate policy and its stopping rule.

Every ``test_every`` steps the reconstruction error is measured (``record``): the whole LR
image, downscaled by the factor and upscaled back through the net, against itself. Every
``policy_every`` steps, once more than ``min_iters`` steps have passed since the last change, a
line is fitted to the last ``slope_range // test_every`` errors; when ``-lr_ratio * slope <
std`` (the error is not falling significantly: std is the slope's standard error) the rate is
divided by 10. Training stops when the rate falls below ``min_lr`` (after the third decay) or
at ``max_iters``.

The slope's standard error is computed as the numpy of 2018, which the official code ran on,
scaled it: the residuals over (points - 4) degrees of freedom (numpy >= 1.16 uses points - 2,
which makes the std sqrt(3) smaller for 5 points, and the decays later).
"""
import numpy as np


def fit_slope(steps, errors):
  """(slope, standard error of the slope) of the least-squares line through the points."""
  x, y = np.asarray(steps, np.float64), np.asarray(errors, np.float64)
  x_mean = x.mean()
  sxx = np.sum((x - x_mean) ** 2)
  slope = np.sum((x - x_mean) * (y - y.mean())) / sxx
  residuals = y - (y.mean() + slope * (x - x_mean))
  dof = max(len(x) - 4, 1)
  return slope, float(np.sqrt(np.sum(residuals ** 2) / dof / sxx))


class RatePolicy:
  """The policy of one factor's training: ``lr`` now, the errors seen, when it stops."""

  def __init__(self, config):
    self.config = config
    self.lr = config.lr
    self.steps, self.errors = [], []
    self.last_change = 0
    self.changes = []  # steps at which the rate was divided by 10

  def record(self, step, error):
    self.steps.append(step)
    self.errors.append(error)

  def check(self, step):
    """Applies the policy after ``step`` steps; returns whether training should stop."""
    config = self.config
    window = config.slope_range // config.test_every
    if step - self.last_change > config.min_iters and len(self.errors) >= min(window, 2):
      slope, std = fit_slope(self.steps[-window:], self.errors[-window:])
      if -config.lr_ratio * slope < std:
        self.lr /= 10
        self.last_change = step
        self.changes.append(step)
    return self.lr < config.min_lr
