"""sinir_jax: SinIR (Yoo & Chen, ICML 2021) single-image internal learning in JAX/Flax."""
import setuptools

setuptools.setup(
    name="sinir_jax",
    version="0.1.0",
    description="SinIR single-image reconstruction and manipulation in JAX/Flax",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=setuptools.find_packages(include=["sinir_jax", "sinir_jax.*"]),
    package_data={"sinir_jax": ["assets/*"]},
    python_requires=">=3.10",
    install_requires=[
        "jax>=0.4.30",
        "flax>=0.8.5",
        "optax>=0.2.2",
        "dm-pix>=0.4.2",
        "orbax-checkpoint>=0.6.0",
        "numpy>=1.24",
        "pillow>=10.0",
        "scipy>=1.10",
        "imageio>=2.31",
        "absl-py>=1.4",
    ],
    extras_require={
        "test": ["pytest>=7.4"],
        "cuda12": ["jax[cuda12]>=0.4.30"],
        "tpu": ["jax[tpu]>=0.4.30"],
    },
    license="Apache-2.0",
)
