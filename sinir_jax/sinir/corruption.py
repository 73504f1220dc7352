"""Random pixel shuffling, SinIR's corruption (spec section 5)."""
import jax
import jax.numpy as jnp


def _shuffle_one(key, x, p):
  h, w, c = x.shape
  n = h * w
  perm_key, keep_key = jax.random.split(key)
  positions = jnp.arange(n)
  source = jnp.where(jax.random.uniform(keep_key, (n,)) >= p,
                     positions, jax.random.permutation(perm_key, n))
  return x.reshape(n, c)[source].reshape(h, w, c)


def pixel_shuffle(key, x, p):
  """Moves each pixel, with probability ``p``, to a random permuted position.

  Over the H*W positions a random permutation is drawn; each position independently keeps its
  pixel with probability 1 - p or takes the pixel at its permuted position (all channels
  together). p = 0 is the identity.

  Args:
    key: a typed PRNG key (``jax.random.key``).
    x: (H, W, C) or (N, H, W, C); a batch gets an independent draw per image.
    p: probability in [0, 1]; may be traced under jit.
  """
  if x.ndim == 3:
    return _shuffle_one(key, x, p)
  keys = jax.random.split(key, x.shape[0])
  return jax.vmap(_shuffle_one, in_axes=(0, 0, None))(keys, x, p)
