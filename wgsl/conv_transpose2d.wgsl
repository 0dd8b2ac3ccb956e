// TODO: conv_transpose2d kernels
