"""The engine every method shares: images, resampling, metrics, pictures and plots, run folders,
the training loop, convolutions and command-line helpers. Nothing here knows a method."""
