// TODO: conv2d kernels
