"""SinIR (Yoo & Chen, ICML 2021): its config and scale plan, pyramid, network, corruption, loss,
cascade and ``Model``, training (single image and many at once), manipulation and masks."""
