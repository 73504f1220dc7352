"""Double-DIP's four tasks as Python functions, each the official script's losses and schedule.

Images come and go as (H, W, C) float arrays in [-1, 1] like the rest of sinir_jax (inside, the
nets work in [0, 1] as the official code); masks, hints and transmission maps are (H, W) in
[0, 1]. Each function returns a result with numpy arrays and the per-step ``history``.

- ``segment``: image = m y1 + (1 - m) y2. Phase 1 fits y1 to the image inside the foreground
  hint, y2 inside the background hint and m to the trimap; phase 2 (Adam restarted) adds the
  recomposition (L1 x 0.5) and the gray loss (weight 0.001 x min(step, 1000) // 100); the hint
  terms stay for its first 1001 steps; it ends once the recomposition passes 30 dB. Input noise
  0.001 x (step // 100) up to 0.001. The result is the better phase end (recomposition PSNR);
  its mask, guided-filtered on the image (``refine.radius_for``) and thresholded at 1/2, is the
  binary mask.
- ``separate``: two mixtures I_k = a_k y1 + (1 - a_k) y2 of the same layers. Each a_k is the
  centre pixel of a net's output, x 0.9 + 0.05; loss MSE of both recompositions + 0.01
  (``exclusion_weight``) exclusion + (first 1000 steps) 0.5 MSE of each a_k to 1/2. The result
  is the step with the best PSNR of the first recomposition. The official weight, 0.1, makes a
  flat layer the cheapest answer where one truth has little contrast: the exclusion loss grows
  with the layers' gradients, and a flat y1 costs only about a1^2 var(B) of reconstruction. On
  64 px crops of img_011 + img_012 mixed at 0.3 / 0.7 (4000 steps) layer 1 came out flat (23.52
  dB against img_012, whose mean colour alone scores 22.80; layer 2 20.16 dB against img_011,
  the mixture 19.95); with 0.01, the official single-image weight, 33.87 / 31.85 dB and alphas
  0.68 / 0.27 (truth 0.7 / 0.3). On img_001 + img_002 (CPU preset, ``synthetic``, both orders)
  0.1 gave 24.06 / 22.38 and 21.03 / 23.00 dB (mixture 21.33), 0.01 28.09 / 27.41 and
  27.42 / 28.29.
- ``dehaze``: image = t J + (1 - t) A. Pass 1: A the dark-channel airlight, MSE +
  0.005 std(t), input noise 1/30 on J's net; the best recomposition every 8 steps gives t
  (guided-filtered, clipped to [0.1, 1], then t -> 1 - s (1 - t) with s = ``dehaze_strength``)
  and J = (I - (1 - t) A) / t. That J is the result by default. s < 1 keeps part of the haze
  (He et al.'s omega; the official code: s = 1) because the fitted t is too low, also given the
  true airlight: on 64 px synthetic haze (``synthetic.hazy``, CPU preset) by 0.15 on average
  (mean t 0.40 against 0.57 on img_003), and J's error grows as (1 - t) / t. Default s = 0.8,
  chosen on dev crops img_001..010 (mean gain over the hazy input +1.66 dB with s = 1, four of
  ten worse than the input; +3.48 with 0.8, none worse) and checked on img_011..020 (+3.56 with
  s = 1, one worse by 2.6 dB; +3.44 with 0.8, all gain, the least +1.24).
  ``dehaze_passes=2`` adds the official second pass: it dehazes pass 1's J again with fresh nets, A now a net (meshgrid input) pulled to pass 1's airlight for 1000 steps and
  smoothed by 0.1 std(A); the transmission reported is then t1 t2 (so I = t1 t2 J + (1 - t1 t2)
  A when the airlights agree; the official code computes it from the result instead). The
  second pass is off by default because it over-dehazes: the decomposition always finds some
  haze, also in an image that has none left, and stretches it. On the 64 px synthetic haze
  (CPU preset) pass 1 / both passes gave 15.88 / 17.10 dB on img_001 (hazy 11.20, the airlight
  0.17..0.21 too dark, so pass 1 left haze) and 17.48 / 17.33 dB on img_002 (hazy 14.55); given
  the true airlight, a held-out crop went from 20.65 dB after pass 1 to 16.01 dB (hazy 17.48),
  and with the dark-channel one from 16.50 to 12.53 dB.
- ``remove_watermark``: the hint w marks a box around the mark. Phase 1 fits the clean net
  outside the box (masked L1, noise 0.001 x (step // 300)); phase 2 adds 0.5 L1 of w m W +
  (1 - m) clean to the image (noise 0.001 x (step // 700)). Both phases augment (the official
  schedule). ``repeats`` runs; the result is (1 - w) I + w median(clean).
- ``remove_watermark_many``: the same watermark on several images, no hint (the official
  ``ManyImagesWatermarkNoHint``): a clean net per image, one watermark and one mask net; the L1
  of m W + (1 - m) clean_i to each image, augmented, noise 0.001 x (step // 400) on the clean
  nets' inputs, ``iters`` steps; ``repeats`` runs, and each result keeps the image where the
  median m W is below 0.1, the median clean layer elsewhere.
- ``separate_single``: one image = y1 + y2 (the official ``Separation``, e.g. two textures
  averaged): L1 of y1 + y2 to the image + 0.01 exclusion, both nets' inputs noised (0.001 x
  (step // 100) up to 0.001), augmented at every even step; the result is the best PSNR of
  y1 + y2 among every 8th step (the official also scores the last step).
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from sinir_jax.core.errors import InputError
from sinir_jax.dip.double import config as config_lib
from sinir_jax.dip.double import engine
from sinir_jax.dip.double import losses
from sinir_jax.dip.double import refine

STOP_PSNR = 30.0  # segmentation's second phase ends once the recomposition is this good


@dataclasses.dataclass(frozen=True)
class SegmentResult:
  """mask: (H, W) binary (1 = foreground); soft_mask: the net's mask; foreground, background:
  the layers (H, W, C) in [-1, 1]; psnr: of the recomposition; history: per-step lists."""
  mask: np.ndarray
  soft_mask: np.ndarray
  foreground: np.ndarray
  background: np.ndarray
  psnr: float
  history: dict
  config: config_lib.DoubleDIPConfig


@dataclasses.dataclass(frozen=True)
class SeparateResult:
  """layer1, layer2: (H, W, C) in [-1, 1], image k = alpha[k] layer1 + (1 - alpha[k])
  layer2; alphas: (a1, a2); psnr: of the first recomposition."""
  layer1: np.ndarray
  layer2: np.ndarray
  alphas: tuple
  psnr: float
  history: dict
  config: config_lib.DoubleDIPConfig


@dataclasses.dataclass(frozen=True)
class DehazeResult:
  """dehazed: (H, W, C) in [-1, 1]; transmission: (H, W) in [0, 1] (t1, or t1 t2 after two
  passes); airlight: (C,) of pass 1 in [0, 1]; first_pass: pass 1's dehazed image."""
  dehazed: np.ndarray
  transmission: np.ndarray
  airlight: np.ndarray
  first_pass: np.ndarray
  history: dict
  config: config_lib.DoubleDIPConfig


@dataclasses.dataclass(frozen=True)
class WatermarkResult:
  """clean: the image with the box replaced by the clean layer (H, W, C) in [-1, 1];
  clean_layer, watermark: the layers; mask: (H, W) the watermark's mask, within the box."""
  clean: np.ndarray
  clean_layer: np.ndarray
  watermark: np.ndarray
  mask: np.ndarray
  history: dict
  config: config_lib.DoubleDIPConfig


def as_image(image, what):
  """(H, W, C) float32 in [-1, 1] -> (1, H, W, C) in [0, 1]; InputError naming ``what``."""
  array = np.asarray(image, np.float32)
  if array.ndim != 3 or min(array.shape) < 1:
    raise InputError(f"the {what} must be an (H, W, C) array, got shape {array.shape}")
  if not np.all(np.isfinite(array)):
    raise InputError(f"the {what} has NaN or inf values")
  return (np.clip(array, -1, 1)[None] + 1) / 2


def _size(batch):
  """The size of a (1, H, W, C) array, as HxWxC."""
  return "x".join(map(str, batch.shape[1:]))


def as_map(hint, size, what):
  """An (H, W) or (H, W, C) map in [0, 1] of the image's ``size`` as (H, W) float32."""
  array = np.asarray(hint, np.float32)
  if array.ndim == 3:
    array = array.mean(axis=-1)
  if array.ndim != 2:
    raise InputError(f"the {what} must be an (H, W) array or image, got shape {array.shape}")
  if array.shape != tuple(size):
    raise InputError(f"the {what} is {array.shape[0]}x{array.shape[1]} but the image is "
                     f"{size[0]}x{size[1]}: pass a {what} of the image's size")
  return np.clip(array, 0, 1)


def task_config(config, task):
  config = config or config_lib.DoubleDIPConfig()
  if config.task not in (None, task):
    raise InputError(f"this config is for task {config.task!r}, not {task!r}")
  return config.replace(task=task).validate()


def _spec(config, channels, size, loss, schedule, noisy, gated=(), track_every=0):
  nets = config.nets(channels)
  out, (top, left) = engine.layout(size, nets.values())
  return engine.Spec(nets=tuple(nets.items()), lr=config.lr, loss=loss, schedule=schedule,
                     noisy=frozenset(noisy), gated=tuple(gated), crop=(top, left, *size),
                     square=out[0] == out[1], track_every=track_every), out


def _data(key, spec, out, kinds, depth, scale, **arrays):
  input_key, noise_key = jax.random.split(key)
  names = [name for name, _ in spec.nets]
  z = engine.fixed_inputs(input_key, names, [kinds.get(n, "noise") for n in names], depth, out,
                          scale)
  return {"z": z, "key": noise_key, **{k: jnp.asarray(v) for k, v in arrays.items()}}


def _to_image(x):
  return np.clip(np.asarray(x, np.float32) * 2 - 1, -1, 1)


def _keys(config, count):
  return jax.random.split(jax.random.key(config.seed), count)


# --- segmentation -------------------------------------------------------------------------


def _segment_loss(outs, data, phase, it):
  fg, bg, m, image = outs["foreground"], outs["background"], outs["mask"], data["image"]
  hints = (losses.masked_l1(fg, image, data["fg_hint"])
           + losses.masked_l1(bg, image, data["bg_hint"]))
  recomposed = m * fg + (1 - m) * bg
  first = hints + losses.l1(data["trimap"], m)
  gray = losses.gray(m)
  second = (jnp.where(it <= 1000, hints, 0.0) + 0.5 * losses.l1(recomposed, image)
            + 0.001 * (jnp.minimum(it, 1000) // 100) * gray)
  loss = jnp.where(phase == 0, first, second)
  return loss, {"psnr": engine.psnr(recomposed, image), "gray": gray}


def _segment_schedule(phase, it, last):
  std = jnp.where(it < 1000, 0.001 * (it // 100), 0.001)
  return jnp.where(last & (phase == 1), 0.0, std), jnp.int32(0)


def trimap_hints(trimap):
  """(fg hint, bg hint) of an (H, W) trimap in [0, 1]: >= 3/4 foreground, <= 1/4 background."""
  return (trimap >= 0.75).astype(np.float32), (trimap <= 0.25).astype(np.float32)


def segment(image, hint, config=None, *, report=print):
  """Segments ``image`` with a trimap ``hint`` ((H, W) or an image of the same size, in [0, 1]:
  1 (white) = foreground, 0 (black) = background, 1/2 = unknown), as the official
  ``((fg - bg) + 1) / 2``. ``config`` None: the official setting. Returns ``SegmentResult``."""
  config = task_config(config, "segment")
  image = as_image(image, "image")
  size = image.shape[1:3]
  fg, bg = trimap_hints(as_map(hint, size, "hint"))
  if not fg.any() or not bg.any():
    raise InputError("the segmentation hint needs both foreground (white) and background "
                     "(black) pixels; grey is unknown")
  trimap = (fg - bg + 1) / 2
  spec, out = _spec(config, image.shape[-1], size, _segment_loss, _segment_schedule,
                    noisy=("foreground", "background", "mask"))
  init_key, data_key = _keys(config, 2)
  data = _data(data_key, spec, out, {}, config.input_depth, 0.01, image=image,
               fg_hint=fg[None, ..., None], bg_hint=bg[None, ..., None],
               trimap=trimap[None, ..., None])
  data["z"]["background"] = data["z"]["foreground"]  # the official layers share one input
  history = {}
  run = engine.Run(spec, data, init_key, report=report, label="segment", history=history,
                   log_every=config.log_every)
  reached = []

  def note(psnr):
    """Phase 1 runs to its end; a PSNR above STOP_PSNR there ends phase 2 after its first
    step (the official flag is set in both phases, checked in the second)."""
    reached.append(psnr > STOP_PSNR)
    return False

  def stop(psnr):
    note(psnr)
    return any(reached)

  candidates = []
  run.phase(0, config.iters, name="phase 1", stop=note)
  candidates.append(run.outputs())
  run.phase(1, config.iters2, name="phase 2", stop=stop)
  candidates.append(run.outputs())
  image0 = image[0]

  def score(outs):
    m = outs["mask"]
    error = np.mean(np.square(m * outs["foreground"] + (1 - m) * outs["background"] - image0))
    return float(-10 * np.log10(error))

  best = max(reversed(candidates), key=score)  # ties: the later, as the official <=
  soft = best["mask"][..., 0]
  refined = refine.guided_filter(image0, soft, refine.radius_for(size, config.guided_radius),
                                 config.guided_eps)
  return SegmentResult(mask=(refined > 0.5).astype(np.float32), soft_mask=soft,
                       foreground=_to_image(best["foreground"]),
                       background=_to_image(best["background"]), psnr=score(best),
                       history=history, config=config)


# --- transparency separation --------------------------------------------------------------


def _alpha(out):
  h, w = out.shape[1:3]
  return out[:, h // 2:h // 2 + 1, w // 2:w // 2 + 1] * 0.9 + 0.05


def _separate_loss(outs, data, phase, it):
  del phase
  y1, y2 = outs["layer1"], outs["layer2"]
  a1, a2 = _alpha(outs["alpha1"]), _alpha(outs["alpha2"])
  mix1, mix2 = a1 * y1 + (1 - a1) * y2, a2 * y1 + (1 - a2) * y2
  exclusion = losses.exclusion(y1, y2)
  loss = (losses.mse(mix1, data["image1"]) + losses.mse(mix2, data["image2"])
          + data["exclusion_weight"] * exclusion
          + jnp.where(it < 1000, 0.5 * losses.mse(a1, 0.5) + 0.5 * losses.mse(a2, 0.5), 0.0))
  return loss, {"psnr": engine.psnr(mix1, data["image1"]), "exclusion": exclusion}


def _separate_schedule(phase, it, last):
  del phase, it, last
  return jnp.float32(0), jnp.int32(0)


def separate(image1, image2, config=None, *, report=print):
  """Separates two mixtures of the same two layers ((H, W, C) in [-1, 1], one size) into the
  layers and the mixing weights. ``config`` None: the official setting (``SeparateResult``)."""
  config = task_config(config, "separate")
  image1, image2 = as_image(image1, "first mixture"), as_image(image2, "second mixture")
  if image1.shape != image2.shape:
    raise InputError(f"the mixtures differ in size ({_size(image1)} and {_size(image2)}): "
                     f"pass two mixtures of the same scene and size")
  spec, out = _spec(config, image1.shape[-1], image1.shape[1:3], _separate_loss,
                    _separate_schedule, noisy=(), track_every=1)
  init_key, data_key = _keys(config, 2)
  data = _data(data_key, spec, out, {}, config.input_depth, 0.01, image1=image1, image2=image2,
               exclusion_weight=np.float32(config.exclusion_weight))
  history = {}
  run = engine.Run(spec, data, init_key, report=report, label="separate", history=history,
                   log_every=config.log_every)
  run.phase(0, config.iters, name="fit")
  best = run.outputs("best")
  alphas = tuple(float(_alpha(best[k][None])[0, 0, 0, 0]) for k in ("alpha1", "alpha2"))
  return SeparateResult(layer1=_to_image(best["layer1"]), layer2=_to_image(best["layer2"]),
                        alphas=alphas, psnr=float(jax.device_get(run.state["best_psnr"])),
                        history=history, config=config)


# --- dehazing -----------------------------------------------------------------------------


def _dehaze_loss(outs, data, phase, it):
  j, t, image = outs["image"], outs["transmission"], data["image"]
  learned = phase == 1
  airlight = jnp.where(learned, outs["airlight"], data["airlight"])
  recomposed = t * j + (1 - t) * airlight
  smooth = losses.std(t)
  loss = losses.mse(recomposed, image) + 0.005 * smooth + jnp.where(
      learned, 0.1 * losses.std(outs["airlight"]) + jnp.where(
          it < 1000, losses.mse(outs["airlight"], data["airlight"]), 0.0), 0.0)
  clipped = (jnp.clip(t, 0, 1) * jnp.clip(j, 0, 1)
             + (1 - jnp.clip(t, 0, 1)) * jnp.clip(airlight, 0, 1))
  return loss, {"psnr": engine.psnr(clipped, image), "std": smooth}


def _dehaze_schedule(phase, it, last):
  del phase, it
  return jnp.where(last, 0.0, 1 / 30), jnp.int32(0)


def _dehaze_pass(config, spec, out, image, airlight, key, phase, history, report):
  init_key, data_key = jax.random.split(key)
  data = _data(data_key, spec, out, {"airlight": "meshgrid"}, config.input_depth, 0.1,
               image=image, airlight=np.broadcast_to(airlight, (1, 1, 1, airlight.size)))
  run = engine.Run(spec, data, init_key, report=report, label="dehaze", history=history,
                   log_every=config.log_every)
  run.phase(phase, config.iters if phase == 0 else config.iters2, name=f"pass {phase + 1}")
  best = run.outputs("best")
  a = np.clip(best["airlight"], 0, 1) if phase else airlight.reshape(1, 1, -1)
  t = refine.guided_filter(image[0], np.clip(best["transmission"][..., 0], 0, 1),
                           refine.radius_for(image.shape[1:3], config.guided_radius),
                           config.guided_eps)
  t = (1 - config.dehaze_strength * (1 - np.clip(t, 0.1, 1)))[..., None]
  return np.clip((image[0] - (1 - t) * a) / t, 0, 1), t[..., 0]


def dehaze(image, config=None, *, airlight=None, report=print):
  """Dehazes ``image`` ((H, W, 3) in [-1, 1]) in ``config.dehaze_passes`` passes (the official
  code: 2). ``airlight``: (3,) in [0, 1] (None: the dark channel prior's). ``config`` None: the
  official setting but one pass."""
  config = task_config(config, "dehaze")
  image = as_image(image, "hazy image")
  if image.shape[-1] != 3 or min(image.shape[1:3]) < 5:
    raise InputError(f"dehazing needs a colour image of at least 5x5 pixels, got "
                     f"{_size(image)}")
  a = (refine.airlight(image[0], window=config.dark_window) if airlight is None
       else np.asarray(airlight, np.float32))
  if a.shape != (3,):
    raise InputError(f"the airlight must be 3 values in [0, 1], got shape {a.shape}")
  spec, out = _spec(config, 3, image.shape[1:3], _dehaze_loss, _dehaze_schedule,
                    noisy=("image", "airlight"), gated=(("airlight", 1),), track_every=8)
  keys = _keys(config, 2)
  history = {}
  first, t = _dehaze_pass(config, spec, out, image, a, keys[0], 0, history, report)
  dehazed = first
  if config.dehaze_passes == 2:
    dehazed, t2 = _dehaze_pass(config, spec, out, first[None], a, keys[1], 1, history, report)
    t = t * t2
  return DehazeResult(dehazed=_to_image(dehazed), transmission=t, airlight=a,
                      first_pass=_to_image(first), history=history, config=config)


# --- watermark removal --------------------------------------------------------------------


def _watermark_loss(outs, data, phase, it):
  del it
  clean, mark, m, image, box = (outs["clean"], outs["watermark"], outs["mask"], data["image"],
                                data["hint"])
  outside = losses.masked_l1(clean, image, 1 - box)
  recomposed = box * m * mark + (1 - m) * clean
  loss = outside + jnp.where(phase == 1, 0.5 * losses.l1(recomposed, image), 0.0)
  return loss, {"psnr": engine.psnr(recomposed, image)}


def _watermark_schedule(phase, it, last):
  std = 0.001 * (it // jnp.where(phase == 0, 300, 700))
  k = jnp.where(it % 4 == 0, (it // 2) % 8, 0)
  return jnp.where(last, 0.0, std), jnp.where(last, 0, k).astype(jnp.int32)


def remove_watermark(image, hint, config=None, *, report=print):
  """Removes the watermark inside the box ``hint`` ((H, W) or an image of the image's size,
  1 (white) = inside) from ``image`` ((H, W, C) in [-1, 1]). ``config`` None: the official
  setting (3 runs). Returns ``WatermarkResult``."""
  config = task_config(config, "watermark")
  image = as_image(image, "image")
  box = (as_map(hint, image.shape[1:3], "hint") >= 0.5).astype(np.float32)
  if not box.any() or box.all():
    raise InputError("the watermark hint must mark a box (white) around the watermark and "
                     "leave the rest of the image black")
  spec, out = _spec(config, image.shape[-1], image.shape[1:3], _watermark_loss,
                    _watermark_schedule, noisy=("clean", "watermark"),
                    gated=(("watermark", 1), ("mask", 1)))
  history = {}
  runs = []
  for i, key in enumerate(_keys(config, config.repeats)):
    init_key, data_key = jax.random.split(key)
    data = _data(data_key, spec, out, {}, config.input_depth, 0.01, image=image,
                 hint=box[None, ..., None])
    run = engine.Run(spec, data, init_key, report=report, label=f"watermark run {i + 1}",
                     history=history, log_every=config.log_every)
    run.phase(0, config.iters, name="phase 1")
    run.phase(1, config.iters2, name="phase 2")
    runs.append(run.outputs())
  median = {k: np.median(np.stack([r[k] for r in runs]), axis=0) for k in runs[0]}
  w = box[..., None]
  clean = (1 - w) * image[0] + w * median["clean"]
  return WatermarkResult(clean=_to_image(clean), clean_layer=_to_image(median["clean"]),
                         watermark=_to_image(median["watermark"]),
                         mask=median["mask"][..., 0] * box, history=history, config=config)


def _many_loss(outs, data, phase, it):
  del phase, it
  mark = outs["watermark"] * outs["mask"]
  loss, psnrs = 0.0, []
  for i in range(data["images"].shape[0]):
    recomposed = mark + outs[f"clean{i}"] * (1 - outs["mask"])
    loss = loss + losses.l1(recomposed, data["images"][i:i + 1])
    psnrs.append(engine.psnr(recomposed, data["images"][i:i + 1]))
  return loss, {"psnr": jnp.mean(jnp.stack(psnrs))}


def _many_schedule(phase, it, last):
  del phase
  k = jnp.where(it % 4 == 0, (it // 2) % 8, 0)
  return jnp.where(last, 0.0, 0.001 * (it // 400)), jnp.where(last, 0, k).astype(jnp.int32)


def remove_watermark_many(images, config=None, *, report=print):
  """Removes the watermark shared by ``images`` (a list of (H, W, C) in [-1, 1], one size; no
  hint). ``config``: a watermark config (None: the official setting, 3 runs of ``iters``).
  Returns a list of ``WatermarkResult`` (clean_layer: the median clean net output; watermark
  and mask shared)."""
  config = task_config(config, "watermark")
  if len(images) < 2 or len({np.shape(x) for x in images}) != 1:
    raise InputError("the several-images watermark removal needs two or more images of one "
                     "size")
  stack = np.concatenate([as_image(x, f"image {i + 1}") for i, x in enumerate(images)])
  base = config.nets(stack.shape[-1], "watermark_many")
  nets = {f"clean{i}": base["clean"] for i in range(len(images))}
  nets.update(watermark=base["watermark"], mask=base["mask"])
  out, (top, left) = engine.layout(stack.shape[1:3], nets.values())
  spec = engine.Spec(nets=tuple(nets.items()), lr=config.lr, loss=_many_loss,
                     schedule=_many_schedule, noisy=frozenset(n for n in nets if "clean" in n),
                     crop=(top, left, *stack.shape[1:3]), square=out[0] == out[1])
  history, runs = {}, []
  for i, key in enumerate(_keys(config, config.repeats)):
    init_key, data_key = jax.random.split(key)
    data = _data(data_key, spec, out, {}, config.input_depth, 0.01, images=stack)
    run = engine.Run(spec, data, init_key, report=report, label=f"watermark run {i + 1}",
                     history=history, log_every=config.log_every)
    run.phase(0, config.iters, name="fit")
    runs.append(run.outputs())
  median = lambda fn: np.median(np.stack([fn(r) for r in runs]), axis=0)
  mark = median(lambda r: r["mask"] * r["watermark"])
  keep = (mark < 0.1).astype(np.float32)
  mask = median(lambda r: r["mask"])[..., 0]
  watermark = median(lambda r: r["watermark"])
  results = []
  for i in range(len(images)):
    clean = median(lambda r, i=i: r[f"clean{i}"])
    results.append(WatermarkResult(
        clean=_to_image(keep * stack[i] + (1 - keep) * clean), clean_layer=_to_image(clean),
        watermark=_to_image(watermark), mask=mask, history=history, config=config))
  return results


# --- single-image separation --------------------------------------------------------------


def _single_loss(outs, data, phase, it):
  del phase, it
  y1, y2 = outs["layer1"], outs["layer2"]
  exclusion = losses.exclusion(y1, y2)
  loss = losses.l1(y1 + y2, data["image"]) + data["exclusion_weight"] * exclusion
  return loss, {"psnr": engine.psnr(jnp.clip(y1, 0, 1) + jnp.clip(y2, 0, 1), data["image"]),
                "exclusion": exclusion}


def _single_schedule(phase, it, last):
  del phase
  std = jnp.where(it < 1000, 0.001 * (it // 100), 0.001)
  k = jnp.where(it % 2 == 1, 0, (it // 2) % 8)
  return jnp.where(last, 0.0, std), jnp.where(last, 0, k).astype(jnp.int32)


def separate_single(image, config=None, *, report=print):
  """Separates one image ((H, W, C) in [-1, 1]) into two layers that sum to it (in [0, 1];
  ``SeparateResult`` with alphas (1, 1): image = layer1 + layer2 there). ``config`` None: the
  official setting."""
  config = task_config(config, "separate_single")
  image = as_image(image, "image")
  spec, out = _spec(config, image.shape[-1], image.shape[1:3], _single_loss, _single_schedule,
                    noisy=("layer1", "layer2"), track_every=8)
  init_key, data_key = _keys(config, 2)
  data = _data(data_key, spec, out, {}, config.input_depth, 0.01, image=image,
               exclusion_weight=np.float32(config.exclusion_weight))
  history = {}
  run = engine.Run(spec, data, init_key, report=report, label="separate_single",
                   history=history, log_every=config.log_every)
  run.phase(0, config.iters, name="fit")
  best = run.outputs("best")
  return SeparateResult(layer1=_to_image(best["layer1"]), layer2=_to_image(best["layer2"]),
                        alphas=(1.0, 1.0), psnr=float(jax.device_get(run.state["best_psnr"])),
                        history=history, config=config)
