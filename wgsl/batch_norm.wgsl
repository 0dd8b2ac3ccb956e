// TODO: batch_norm kernels
