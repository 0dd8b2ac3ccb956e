// TODO: upsample kernels
