// TODO: adam kernels
