// TODO: random kernels
