//! Sequential: a list of layers run forward in order and backward in reverse, with one parameter
//! arena and preallocated activations. Parameter names follow PyTorch's `nn.Sequential`
//! (`{model}.{index}.weight`, where every layer, activations included, takes an index).

use crate::cpu::random::InitRng;
use crate::error::{Error, Result};
use crate::gpu::arena::{Arena, ArenaBuilder};
use crate::gpu::step::Step;
use crate::gpu::tensor::{numel, Tensor};
use crate::gpu::Gpu;
use crate::io::float_text::FloatText;
use crate::nn::activation::{Act, Activation};
use crate::nn::batch_norm::BatchNorm;
use crate::nn::conv2d::Conv2d;
use crate::nn::conv_transpose2d::ConvTranspose2d;
use crate::nn::dropout::Dropout;
use crate::nn::init::Init;
use crate::nn::linear::Linear;
use crate::nn::pool::MaxPool2d;
use crate::nn::upsample::Upsample2x;

pub enum Layer {
    Linear(Linear),
    Conv2d(Conv2d),
    ConvTranspose2d(ConvTranspose2d),
    BatchNorm(BatchNorm),
    Activation(Activation),
    Upsample(Upsample2x),
    Dropout(Dropout),
    MaxPool(MaxPool2d),
    /// Reinterprets each sample as this shape (batch axis kept); no copy, no dispatch.
    Reshape(Vec<usize>),
}

impl Layer {
    pub fn out_shape(&self, x: &[usize]) -> Result<Vec<usize>> {
        match self {
            Layer::Linear(l) => l.out_shape(x),
            Layer::Conv2d(l) => l.out_shape(x),
            Layer::ConvTranspose2d(l) => l.out_shape(x),
            Layer::BatchNorm(l) => l.out_shape(x),
            Layer::Activation(l) => l.out_shape(x),
            Layer::Upsample(l) => l.out_shape(x),
            Layer::Dropout(l) => l.out_shape(x),
            Layer::MaxPool(l) => l.out_shape(x),
            Layer::Reshape(shape) => {
                let n = *x.first().ok_or_else(|| Error::Shape("Reshape of a scalar".into()))?;
                if numel(&x[1..]) != numel(shape) {
                    return Err(Error::Shape(format!("cannot reshape samples of shape {:?} to {shape:?}", &x[1..])));
                }
                Ok([&[n][..], shape].concat())
            }
        }
    }

    /// FLOPs of this layer's matrix products for input shape `x` (batch axis included).
    pub fn flops(&self, x: &[usize]) -> Result<Flops> {
        let y = self.out_shape(x)?;
        let n = x.first().copied().unwrap_or(0) as f64;
        // Every product of a layer has the same multiply-adds: forward, input gradient and weight
        // gradient each contract the same three axes in a different order.
        let product = match self {
            Layer::Linear(l) => 2.0 * n * (l.i * l.o) as f64,
            // Conv2d's small side is its output, ConvTranspose2d's its input.
            Layer::Conv2d(l) => 2.0 * n * (l.c_in * l.c_out * l.k * l.k) as f64 * numel(&y[2..]) as f64,
            Layer::ConvTranspose2d(l) => 2.0 * n * (l.c_in * l.c_out * l.k * l.k) as f64 * numel(&x[2..]) as f64,
            _ => return Ok(Flops::default()),
        };
        Ok(Flops { forward: product, backward_data: product, backward_weight: product })
    }

    /// A short PyTorch-like description, for summaries.
    pub fn describe(&self) -> String {
        match self {
            Layer::Linear(l) => format!("Linear({}, {})", l.i, l.o),
            Layer::Conv2d(l) => format!("Conv2d({}, {}, k{} s{} p{})", l.c_in, l.c_out, l.k, l.stride, l.pad),
            Layer::ConvTranspose2d(l) => {
                format!("ConvTranspose2d({}, {}, k{} s{} p{})", l.c_in, l.c_out, l.k, l.stride, l.pad)
            }
            Layer::BatchNorm(l) => format!("BatchNorm({})", l.c),
            Layer::Activation(l) => l.act.to_string(),
            Layer::Upsample(_) => "Upsample(×2)".into(),
            Layer::Dropout(l) => format!("Dropout{}({})", if l.spatial { "2d" } else { "" }, FloatText(l.p)),
            Layer::MaxPool(l) => format!("MaxPool2d({})", l.k),
            Layer::Reshape(s) => format!("Reshape({s:?})"),
        }
    }
}

/// Floating-point operations of one layer's matrix products (a multiply-add is two), for the
/// benchmark's GFLOP/s. Bias, batch-norm, activation and optimiser work is elementwise and not
/// counted, so layers other than Linear and the convolutions count zero.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Flops {
    pub forward: f64,
    /// The input gradient dx.
    pub backward_data: f64,
    /// The weight gradient dW.
    pub backward_weight: f64,
}

pub struct Sequential {
    pub name: String,
    pub layers: Vec<Layer>,
    pub arena: Arena,
    /// Shape of one input sample (without the batch axis).
    pub input: Vec<usize>,
}

/// Tensors owned elsewhere that a model's activations should use (see `Sequential::activations`).
#[derive(Clone, Copy, Default)]
pub struct Shared<'a> {
    pub input: Option<&'a Tensor>,
    pub input_grad: Option<&'a Tensor>,
    pub output: Option<&'a Tensor>,
    pub output_grad: Option<&'a Tensor>,
}

/// Every tensor one forward and backward pass touches, for one batch size. `xs[0]` is the input,
/// `xs[i + 1]` layer i's output; `dxs` are their gradients. Reshapes share their input's buffer.
pub struct Activations {
    pub xs: Vec<Tensor>,
    pub dxs: Vec<Tensor>,
    masks: Vec<Option<Tensor>>,
}

impl Activations {
    pub fn input(&self) -> &Tensor {
        &self.xs[0]
    }
    pub fn output(&self) -> &Tensor {
        &self.xs[self.xs.len() - 1]
    }
    pub fn input_grad(&self) -> Result<&Tensor> {
        self.dxs.first().ok_or_else(no_gradients)
    }
    pub fn output_grad(&self) -> Result<&Tensor> {
        self.dxs.last().ok_or_else(no_gradients)
    }
}

fn no_gradients() -> Error {
    Error::Shape(
        "these activations were made for inference (Sequential::inference_activations) and hold no gradients".into(),
    )
}

impl Sequential {
    /// The same model under another name: its tensors take the new prefix (`generator_ema.0.weight`).
    pub fn renamed(mut self, name: &str) -> Sequential {
        let old = format!("{}.", self.name);
        for e in &mut self.arena.entries {
            if let Some(rest) = e.name.strip_prefix(&old) {
                e.name = format!("{name}.{rest}");
            }
        }
        self.name = name.to_string();
        self
    }

    /// Shapes of every activation for a batch of `n`.
    pub fn shapes(&self, n: usize) -> Result<Vec<Vec<usize>>> {
        let mut shapes = vec![[&[n][..], &self.input].concat()];
        for (i, layer) in self.layers.iter().enumerate() {
            let next = layer
                .out_shape(&shapes[i])
                .map_err(|e| Error::Shape(format!("{}.{i} {}: {e}", self.name, layer.describe())))?;
            shapes.push(next);
        }
        Ok(shapes)
    }

    /// Allocates activations for a batch of `n`. Tensors in `shared` are used instead of new
    /// ones: the generator's output is the discriminator's fake input, and the discriminator's
    /// input gradient is the generator's output gradient.
    pub fn activations(&self, gpu: &Gpu, n: usize, shared: Shared) -> Result<Activations> {
        self.allocate(gpu, n, shared, true)
    }

    /// Activations for forward passes only (sampling): no gradient buffers.
    pub fn inference_activations(&self, gpu: &Gpu, n: usize) -> Result<Activations> {
        self.allocate(gpu, n, Shared::default(), false)
    }

    fn allocate(&self, gpu: &Gpu, n: usize, shared: Shared, grads: bool) -> Result<Activations> {
        let shapes = self.shapes(n)?;
        let last = shapes.len() - 1;
        let is_reshape = |layer: usize| matches!(self.layers[layer], Layer::Reshape(_));
        let mut xs: Vec<Tensor> = Vec::with_capacity(shapes.len());
        for (i, shape) in shapes.iter().enumerate() {
            let given = match i {
                0 => shared.input,
                _ if i == last => shared.output,
                _ => None,
            };
            let x = match given {
                Some(t) => t.reshape(shape).map_err(|e| Error::Shape(format!("{} activation {i}: {e}", self.name)))?,
                None if i > 0 && (is_reshape(i - 1) || self.act_in_place(i - 1)) => xs[i - 1].reshape(shape)?,
                None => Tensor::zeros(gpu, shape)?,
            };
            xs.push(x);
        }
        // Gradients, from the output back. Each layer's backward reads only the gradient of its
        // output and writes that of its input, so the gradients inside the model take turns in
        // two buffers sized for the largest; a reshape passes its gradient's buffer through.
        let given_grad = |t: &Tensor, i: usize| {
            t.reshape(&shapes[i]).map_err(|e| Error::Shape(format!("{} gradient {i}: {e}", self.name)))
        };
        let largest = shapes[..last].iter().map(|s| numel(s)).max().unwrap_or(0);
        let mut turns: [Option<wgpu::Buffer>; 2] = [None, None];
        let mut dxs: Vec<Tensor> = Vec::with_capacity(shapes.len());
        let backward_layers = if grads { last } else { 0 };
        if grads {
            dxs.push(match shared.output_grad {
                Some(t) => given_grad(t, last)?,
                None => Tensor::zeros(gpu, &shapes[last])?,
            });
        }
        for i in (0..backward_layers).rev() {
            let after = &dxs[dxs.len() - 1];
            let dx = match shared.input_grad {
                Some(t) if i == 0 => given_grad(t, 0)?,
                _ if is_reshape(i) => after.reshape(&shapes[i])?,
                _ => {
                    // The turn whose buffer is not the gradient this layer reads.
                    let turn = usize::from(turns[0].as_ref() == Some(&after.buf));
                    if turns[turn].is_none() {
                        turns[turn] = Some(Tensor::zeros(gpu, &[largest])?.buf);
                    }
                    let buf = turns[turn].clone().ok_or_else(|| Error::Shape("gradient buffer".into()))?;
                    Tensor { buf, shape: shapes[i].clone() }
                }
            };
            dxs.push(dx);
        }
        dxs.reverse();
        let masks = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| match l {
                Layer::Dropout(_) => Tensor::zeros(gpu, &shapes[i]).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Activations { xs, dxs, masks })
    }

    /// Whether layer `i`, an activation, overwrites its input: only where nothing reads that
    /// input afterwards. Not the model's first layer (the input belongs to the caller) nor its
    /// last (the output may be shared), and only after a layer whose backward reads its own
    /// input rather than its output (not after another activation or a reshape of one).
    fn act_in_place(&self, i: usize) -> bool {
        let Some(Layer::Activation(act)) = self.layers.get(i) else { return false };
        let before_ok = i > 0
            && matches!(
                self.layers[i - 1],
                Layer::Linear(_)
                    | Layer::Conv2d(_)
                    | Layer::ConvTranspose2d(_)
                    | Layer::BatchNorm(_)
                    | Layer::Upsample(_)
                    | Layer::Dropout(_)
            );
        act.can_run_in_place() && before_ok && i + 1 < self.layers.len()
    }

    /// The activation that layer `i` applies as it writes its output: a Linear or Conv2d in its
    /// GEMM's epilogue, a BatchNorm in its normalisation. It is the next layer's, when that one
    /// runs in place (so nothing needs the pre-activation).
    fn fused_act(&self, i: usize) -> Option<Act> {
        match (self.layers.get(i), self.layers.get(i + 1)) {
            (Some(Layer::Linear(_) | Layer::Conv2d(_) | Layer::BatchNorm(_)), Some(Layer::Activation(a)))
                if self.act_in_place(i + 1) =>
            {
                Some(a.act)
            }
            _ => None,
        }
    }

    /// Activations for another input that share every buffer of `base` past the input (and its
    /// gradient, when `input_grad` is given). For passes recorded one after the other, as the
    /// discriminator's on the real and then on the fake batch: each overwrites what the last left.
    pub fn activations_like(
        &self,
        base: &Activations,
        input: &Tensor,
        input_grad: Option<&Tensor>,
    ) -> Result<Activations> {
        let (mut xs, mut dxs) = (base.xs.clone(), base.dxs.clone());
        // The input and the reshapes that directly follow it view the input's own buffer.
        let mut i = 0;
        loop {
            xs[i] = input.reshape(&base.xs[i].shape)?;
            if let Some(g) = input_grad {
                dxs[i] = g.reshape(&base.dxs[i].shape)?;
            }
            if i >= self.layers.len() || !matches!(self.layers[i], Layer::Reshape(_)) {
                break;
            }
            i += 1;
        }
        Ok(Activations { xs, dxs, masks: base.masks.clone() })
    }

    /// Records the forward pass. `pass` separates the dropout masks of several forward passes
    /// recorded in one step.
    pub fn forward(&self, s: &mut Step, a: &Activations, train: bool, pass: u32) -> Result<()> {
        let p = &self.arena;
        for (i, layer) in self.layers.iter().enumerate() {
            let (x, y) = (&a.xs[i], &a.xs[i + 1]);
            match layer {
                Layer::Linear(l) => l.forward_with_act(s, p, y, x, self.fused_act(i))?,
                Layer::Conv2d(l) => l.forward_with_act(s, p, y, x, self.fused_act(i))?,
                Layer::ConvTranspose2d(l) => l.forward(s, p, y, x)?,
                Layer::BatchNorm(l) => l.forward_with_act(s, p, y, x, train, self.fused_act(i))?,
                // Applied by the layer before, as it wrote its output.
                Layer::Activation(_) if i > 0 && self.fused_act(i - 1).is_some() => {}
                Layer::Activation(l) if self.act_in_place(i) => l.forward_in_place(s, y)?,
                Layer::Activation(l) => l.forward(s, y, x)?,
                Layer::Upsample(l) => l.forward(s, y, x)?,
                Layer::Dropout(l) => l.forward(s, p, y, mask(a, i)?, x, train, pass)?,
                Layer::MaxPool(l) => l.forward(s, y, x)?,
                Layer::Reshape(_) => {}
            }
        }
        Ok(())
    }

    /// Records the backward pass from `a.output_grad()`. Input gradient only if `input_grad`;
    /// with `frozen` no parameter gradient is touched (the generator's step through D).
    pub fn backward(&self, s: &mut Step, a: &Activations, input_grad: bool, frozen: bool) -> Result<()> {
        a.output_grad()?;
        let p = &self.arena;
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let (x, y, dy) = (&a.xs[i], &a.xs[i + 1], &a.dxs[i + 1]);
            let dx = (i > 0 || input_grad).then(|| &a.dxs[i]);
            match layer {
                Layer::Linear(l) => l.backward(s, p, dx, dy, x, frozen)?,
                Layer::Conv2d(l) => l.backward(s, p, dx, dy, x, frozen)?,
                Layer::ConvTranspose2d(l) => l.backward(s, p, dx, dy, x, frozen)?,
                Layer::BatchNorm(l) => l.backward(s, p, dx, dy, x, frozen)?,
                Layer::Activation(l) => match dx {
                    Some(dx) if self.act_in_place(i) => l.backward_from_y(s, dx, dy, y)?,
                    Some(dx) => l.backward(s, dx, dy, x, y)?,
                    None => {}
                },
                Layer::Upsample(l) => {
                    if let Some(dx) = dx {
                        l.backward(s, dx, dy)?
                    }
                }
                Layer::Dropout(l) => {
                    if let Some(dx) = dx {
                        l.backward(s, dx, dy, mask(a, i)?)?
                    }
                }
                Layer::MaxPool(l) => {
                    if let Some(dx) = dx {
                        l.backward(s, dx, dy, x)?
                    }
                }
                Layer::Reshape(_) => {}
            }
        }
        Ok(())
    }

    /// Per-layer FLOPs of the products for a batch of `n`.
    pub fn flops(&self, n: usize) -> Result<Vec<Flops>> {
        let shapes = self.shapes(n)?;
        self.layers.iter().zip(&shapes).map(|(layer, x)| layer.flops(x)).collect()
    }

    /// FLOPs `forward` records for a batch of `n`.
    pub fn forward_flops(&self, n: usize) -> Result<f64> {
        Ok(self.flops(n)?.iter().map(|f| f.forward).sum())
    }

    /// FLOPs `backward` records for a batch of `n` with the same `input_grad` and `frozen`:
    /// weight gradients unless frozen, input gradients of every layer but the first unless asked.
    pub fn backward_flops(&self, n: usize, input_grad: bool, frozen: bool) -> Result<f64> {
        let flops = self.flops(n)?;
        Ok(flops
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let dx = if i > 0 || input_grad { f.backward_data } else { 0.0 };
                let dw = if frozen { 0.0 } else { f.backward_weight };
                dx + dw
            })
            .sum())
    }

    /// One line per layer with its output shape and parameter count.
    pub fn summary(&self, n: usize) -> Result<String> {
        let shapes = self.shapes(n)?;
        let mut out = format!("{} (input {:?}, {} parameters)\n", self.name, shapes[0], self.arena.param_count());
        for (i, layer) in self.layers.iter().enumerate() {
            out += &format!("  {}.{i:<3} {:<32} -> {:?}\n", self.name, layer.describe(), shapes[i + 1]);
        }
        Ok(out)
    }
}

fn mask(a: &Activations, i: usize) -> Result<&Tensor> {
    a.masks[i].as_ref().ok_or_else(|| Error::Shape(format!("no dropout mask allocated for layer {i}")))
}

/// Builds a `Sequential` layer by layer; each call checks the new layer fits the previous one.
pub struct SequentialBuilder<'g> {
    gpu: &'g Gpu,
    name: String,
    input: Vec<usize>,
    shape: Vec<usize>,
    layers: Vec<Layer>,
    arena: ArenaBuilder,
    pub init: Init,
    pub rng: InitRng,
    seed: u64,
}

impl<'g> SequentialBuilder<'g> {
    /// `input` is one sample's shape, e.g. `[100]` or `[1, 28, 28]`.
    pub fn new(gpu: &'g Gpu, name: &str, input: &[usize], init: Init, seed: u64) -> SequentialBuilder<'g> {
        SequentialBuilder {
            gpu,
            name: name.to_string(),
            input: input.to_vec(),
            shape: [&[1][..], input].concat(),
            layers: Vec::new(),
            arena: ArenaBuilder::new(),
            init,
            rng: InitRng::new(seed),
            seed,
        }
    }

    fn next_name(&self) -> String {
        format!("{}.{}", self.name, self.layers.len())
    }

    /// Appends any layer, checking it accepts the current shape.
    pub fn push(mut self, layer: Layer) -> Result<Self> {
        self.shape = layer
            .out_shape(&self.shape)
            .map_err(|e| Error::Shape(format!("{} {}: {e}", self.next_name(), layer.describe())))?;
        self.layers.push(layer);
        Ok(self)
    }

    /// Input features of a Linear / channels of a conv or BatchNorm, read off the current shape.
    fn features(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(0)
    }

    pub fn linear(mut self, o: usize) -> Result<Self> {
        let name = self.next_name();
        let i = self.features();
        let l = Linear::new(&mut self.arena, &name, i, o, self.init, &mut self.rng)?;
        self.push(Layer::Linear(l))
    }

    pub fn conv2d(mut self, c_out: usize, k: usize, stride: usize, pad: usize) -> Result<Self> {
        let name = self.next_name();
        let c_in = self.features();
        let l = Conv2d::new(&mut self.arena, &name, c_in, c_out, k, stride, pad, self.init, &mut self.rng)?;
        self.push(Layer::Conv2d(l))
    }

    pub fn conv_transpose2d(mut self, c_out: usize, k: usize, stride: usize, pad: usize) -> Result<Self> {
        let name = self.next_name();
        let c_in = self.features();
        let l = ConvTranspose2d::new(&mut self.arena, &name, c_in, c_out, k, stride, pad, 0, self.init, &mut self.rng)?;
        self.push(Layer::ConvTranspose2d(l))
    }

    /// BatchNorm with PyTorch's defaults (eps 1e-5, momentum 0.1).
    pub fn batch_norm(mut self) -> Result<Self> {
        let name = self.next_name();
        let c = self.features();
        let l = BatchNorm::new(&mut self.arena, self.gpu, &name, c, 1e-5, 0.1, self.init, &mut self.rng)?;
        self.push(Layer::BatchNorm(l))
    }

    pub fn act(self, act: Act) -> Result<Self> {
        self.push(Layer::Activation(Activation::new(act)))
    }

    pub fn upsample2x(self) -> Result<Self> {
        self.push(Layer::Upsample(Upsample2x))
    }

    pub fn dropout(self, p: f32, spatial: bool) -> Result<Self> {
        let stream = self.layers.len() as u32;
        let d = Dropout::new(p, spatial, self.seed, stream)?;
        self.push(Layer::Dropout(d))
    }

    pub fn max_pool(self, k: usize) -> Result<Self> {
        self.push(Layer::MaxPool(MaxPool2d::new(k)?))
    }

    pub fn reshape(self, sample: &[usize]) -> Result<Self> {
        self.push(Layer::Reshape(sample.to_vec()))
    }

    pub fn build(self) -> Result<Sequential> {
        Ok(Sequential { name: self.name, layers: self.layers, arena: self.arena.build(self.gpu)?, input: self.input })
    }
}
