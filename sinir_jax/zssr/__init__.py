"""ZSSR ("Zero-Shot" Super-Resolution using Deep Internal Learning, Shocher, Cohen & Irani, CVPR
2018): an image-specific CNN trained at test time on the LR image alone, learning to undo the
image's own downscaling (by bicubic or a given kernel), then applied to the LR image itself.

config (ZSSRConfig), network (the 8-layer residual CNN), kernels (given kernels, downscaling),
examples (augmented father/son pairs), policy (the learning-rate policy), ensemble (the 8
geometric variants and back-projection), trainer (training, gradual SR, ``super_resolve``).
"""
