//! GAN training: the losses, the preset models, the training configuration and the trainer
//! that records a whole iteration into one submit.

pub mod config;
pub mod discrete;
pub mod loss;
pub mod presets;
pub mod sample;
pub mod train;
