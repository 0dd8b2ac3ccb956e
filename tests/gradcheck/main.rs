//! The f64 twins (src/cpu) against central finite differences: for L = Σ y ⊙ r with random r,
//! every analytic gradient must match (L(θ + h) − L(θ − h)) / 2h, h = 1e-6.

mod fd;

mod adam;
mod batch_norm;
mod conv;
mod discrete;
mod dropout;
mod elementwise;
mod linear;
mod loss;
mod pool;
