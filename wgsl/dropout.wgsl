// TODO: dropout kernels
