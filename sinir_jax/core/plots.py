"""Plots with matplotlib: loss curves, labelled scatter plots, grouped bars.

Each function returns a ``matplotlib.figure.Figure`` (built without pyplot, so no global state
and no display is needed); ``to_png`` renders it, for ``files.write_atomic``. Tests read the
plotted data back from the figure's axes.
"""
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_SIZE = (6.4, 4.8)


def to_png(figure, dpi=100):
  """The PNG bytes of ``figure``."""
  buffer = io.BytesIO()
  FigureCanvasAgg(figure)
  figure.savefig(buffer, format="png", dpi=dpi)
  return buffer.getvalue()


def curves(series, *, title, xlabel, ylabel, log_y=False):
  """One line per entry of ``series`` ({label: (xs, ys)}), in order."""
  figure = Figure(figsize=_SIZE, layout="constrained")
  axes = figure.subplots()
  for label, (xs, ys) in series.items():
    axes.plot(xs, ys, label=label, linewidth=1.2)
  if log_y:
    axes.set_yscale("log")
  axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
  axes.grid(True, alpha=0.3)
  if len(series) > 1:
    axes.legend(fontsize="small", ncols=2 if len(series) > 6 else 1)
  return figure


def scatter(points, *, title, xlabel, ylabel, subtitle=None):
  """Labelled points ``(label, x, y, is_reference)``: references as red squares, the others as
  blue discs, each with its label beside it."""
  figure = Figure(figsize=_SIZE, layout="constrained")
  axes = figure.subplots()
  for reference, marker, colour in ((True, "s", "tab:red"), (False, "o", "tab:blue")):
    chosen = [p for p in points if p[3] == reference]
    if chosen:
      axes.scatter([p[1] for p in chosen], [p[2] for p in chosen], marker=marker, color=colour,
                   s=48, zorder=3)
      for label, x, y, _ in chosen:
        axes.annotate(label, (x, y), textcoords="offset points", xytext=(7, 4), color=colour,
                      fontsize="small")
  axes.set(title=title if subtitle is None else f"{title}\n{subtitle}", xlabel=xlabel,
           ylabel=ylabel)
  axes.margins(0.2)
  axes.grid(True, alpha=0.3)
  return figure


def bars(values, *, title, ylabels):
  """One panel per metric of ``values`` ({metric: {method: value}}), a bar per method, each
  labelled with its value; ``ylabels`` ({metric: axis label}) say which way is better."""
  metrics = list(values)
  figure = Figure(figsize=(3.2 * len(metrics) + 0.8, 4.2), layout="constrained")
  panels = figure.subplots(1, len(metrics), squeeze=False)[0]
  for axes, metric in zip(panels, metrics):
    methods = list(values[metric])
    heights = [values[metric][m] for m in methods]
    bars_drawn = axes.bar(range(len(methods)), heights, color="tab:blue")
    axes.bar_label(bars_drawn, fmt="%.3g", fontsize="small")
    axes.set_xticks(range(len(methods)), methods, rotation=30, ha="right", fontsize="small")
    axes.set(title=metric, ylabel=ylabels.get(metric, metric))
    axes.margins(y=0.15)
  figure.suptitle(title)
  return figure
