//! Every GPU kernel against its f64 twin (src/cpu), on awkward and on real GAN shapes.
//! Runs on the adapter `Gpu::new` picks (NANOGAN_ADAPTER selects another).

mod support;

mod adam;
mod batch_norm;
mod classifier;
mod conv;
mod discrete;
mod elementwise;
mod gather;
mod linear;
mod loss;
mod mlp;
mod pool;
mod profile;
mod random_dropout;
mod workspace;
