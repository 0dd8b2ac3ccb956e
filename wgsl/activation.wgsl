// TODO: activation kernels
