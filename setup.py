"""sinir_jax: SinIR (Yoo & Chen, ICML 2021) single-image internal learning in JAX/Flax."""
import setuptools

setuptools.setup(
    name="sinir_jax",
    version="0.2.0",
    description="Deep internal learning in JAX/Flax: SinIR and more, trained on one image",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=setuptools.find_packages(include=["sinir_jax", "sinir_jax.*"]),
    package_data={"sinir_jax": ["assets/*"]},
    python_requires=">=3.11",
    # Tested on jax 0.10.2 / flax 0.12.8 / optax 0.2.8 / orbax 0.12.8 / dm-pix 0.4.5; jax 0.7
    # is the first with the top-level jax.shard_map that train_many uses.
    install_requires=[
        "jax>=0.7.0",
        "flax>=0.8.5",
        "optax>=0.2.2",
        "dm-pix>=0.4.2",
        "orbax-checkpoint>=0.6.0",
        "numpy>=1.24",
        "pillow>=10.0",
        "scipy>=1.10",
        "imageio>=2.31",
        "absl-py>=1.4",
        "matplotlib>=3.7",  # plots: loss curves, benchmark bars and trade-offs
    ],
    extras_require={
        "test": ["pytest>=7.4", "pytest-xdist>=3.5"],
        "cuda12": ["jax[cuda12]>=0.7.0"],
        "tpu": ["jax[tpu]>=0.7.0"],
    },
    license="Apache-2.0",
)
