// nanogan's `model=mlp loss=lsgan batch=64` in TensorFlow.js, written the way tfjs code is
// usually fastest: plain tf.variables, fused matmul+bias, tf.batchNorm and
// optimizer.minimize (tf.layers would add Keras bookkeeping per call and time nothing more).
//
// G: z(100) → 128 → LReLU → 256 → BN → LReLU → 512 → BN → LReLU → 1024 → BN → LReLU → 784 → tanh
// D: 784 → 512 → LReLU → 256 → LReLU → 1 (a logit); LeakyReLU slope 0.2 throughout.
// LSGAN a=0, b=1, c=1; Adam lr 2e-4, β 0.5/0.999, ε 1e-8 (torch's, which nanogan follows).
// One iteration: a D step (a random real batch, fresh noise), then a G step (fresh noise).

const Z = 100;
const BATCH = 64;
const G_WIDTHS = [Z, 128, 256, 512, 1024, 784];
const D_WIDTHS = [784, 512, 256, 1];
// BatchNorm follows these G layers (not the first, not the output), as in reference/twin.py.
const G_NORMED = [false, true, true, true];
const EPS = 1e-5;
const MOMENTUM = 0.1;
const SLOPE = 0.2;

/** A Linear layer with torch's default init: U(±1/√fan_in) for weight and bias. */
function linear(tf, fanIn, fanOut) {
  const bound = 1 / Math.sqrt(fanIn);
  return {
    w: tf.variable(tf.randomUniform([fanIn, fanOut], -bound, bound)),
    b: tf.variable(tf.randomUniform([fanOut], -bound, bound)),
  };
}

function batchNorm(tf, width) {
  return {
    gamma: tf.variable(tf.ones([width])),
    beta: tf.variable(tf.zeros([width])),
    // Running statistics: not trained, so not in any optimiser's list.
    mean: tf.variable(tf.zeros([width]), false),
    variance: tf.variable(tf.ones([width]), false),
  };
}

export class Gan {
  /** `images`: a [n, 784] float32 tensor in [-1, 1], already on the backend. */
  constructor(tf, images) {
    this.tf = tf;
    this.images = images;
    this.g = G_WIDTHS.slice(1).map((w, i) => ({ ...linear(tf, G_WIDTHS[i], w), bn: G_NORMED[i] ? batchNorm(tf, w) : null }));
    this.d = D_WIDTHS.slice(1).map((w, i) => linear(tf, D_WIDTHS[i], w));
    this.gVars = this.g.flatMap((l) => [l.w, l.b, ...(l.bn ? [l.bn.gamma, l.bn.beta] : [])]);
    this.dVars = this.d.flatMap((l) => [l.w, l.b]);
    this.optG = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
    this.optD = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
    // Batch statistics of the training forwards, folded into the running ones after each step.
    this.stats = [];
  }

  /** G's forward; in training mode it normalises by batch statistics and records them. */
  generate(z, training) {
    const tf = this.tf;
    let h = z;
    this.g.forEach((l, i) => {
      h = tf.fused.matMul({ a: h, b: l.w, bias: l.b });
      if (i === this.g.length - 1) {
        h = tf.tanh(h);
        return;
      }
      if (l.bn) {
        let mean = l.bn.mean;
        let variance = l.bn.variance;
        if (training) {
          ({ mean, variance } = tf.moments(h, 0));
          this.stats.push([l.bn, tf.keep(mean), tf.keep(variance)]);
        }
        h = tf.batchNorm(h, mean, variance, l.bn.beta, l.bn.gamma, EPS);
      }
      h = tf.leakyRelu(h, SLOPE);
    });
    return h;
  }

  discriminate(x) {
    const tf = this.tf;
    let h = x;
    this.d.forEach((l, i) => {
      h = tf.fused.matMul({ a: h, b: l.w, bias: l.b });
      if (i < this.d.length - 1) h = tf.leakyRelu(h, SLOPE);
    });
    return h;
  }

  /** torch's running-statistics update: momentum 0.1, the variance unbiased. */
  foldStats() {
    const tf = this.tf;
    tf.tidy(() => {
      for (const [bn, mean, variance] of this.stats) {
        bn.mean.assign(bn.mean.mul(1 - MOMENTUM).add(mean.mul(MOMENTUM)));
        bn.variance.assign(bn.variance.mul(1 - MOMENTUM).add(variance.mul((MOMENTUM * BATCH) / (BATCH - 1))));
      }
    });
    for (const [, mean, variance] of this.stats) tf.dispose([mean, variance]);
    this.stats = [];
  }

  /**
   * One iteration; resolves with [D loss, G loss] once the backend has finished it (reading the
   * G loss back waits for all queued work, as nanogan's train() waits for its GPU).
   */
  async iterate() {
    const tf = this.tf;
    // Real batches are gathered on the backend from the resident image tensor (as nanogan
    // gathers on the GPU); tfjs draws the indices and the noise on the CPU and uploads them.
    const [real, fake] = tf.tidy(() => {
      const idx = tf.randomUniform([BATCH], 0, this.images.shape[0], "int32");
      // Computed outside minimize's tape: the D step does not backpropagate into G.
      return [tf.gather(this.images, idx), this.generate(tf.randomNormal([BATCH, Z]), true)];
    });
    const dLoss = this.optD.minimize(() => {
      const r = this.discriminate(real).sub(1).square().mean();
      const f = this.discriminate(fake).square().mean();
      return r.add(f).mul(0.5);
    }, true, this.dVars);
    tf.dispose([real, fake]);
    this.foldStats();
    const gLoss = this.optG.minimize(() => {
      const d = this.discriminate(this.generate(tf.randomNormal([BATCH, Z]), true));
      return d.sub(1).square().mean().mul(0.5);
    }, true, this.gVars);
    this.foldStats();
    const losses = [(await dLoss.data())[0], (await gLoss.data())[0]];
    tf.dispose([dLoss, gLoss]);
    return losses;
  }

  /**
   * `n` samples from fixed noise in eval mode, tiled `cols` wide at `scale`× with a 2-pixel grey
   * border, as nanogan's lab.grid lays them out, drawn into `canvas`.
   */
  async grid(canvas, n, cols, scale, seed = 1) {
    const tf = this.tf;
    const pad = 2;
    const grey = 32 / 255;
    const cell = 28 * scale + pad;
    const rows = Math.ceil(n / cols);
    const image = tf.tidy(() => {
      const x = this.generate(tf.randomNormal([n, Z], 0, 1, "float32", seed), false);
      let t = x.add(1).mul(0.5).clipByValue(0, 1).reshape([n, 28, 28, 1]);
      t = tf.image.resizeNearestNeighbor(t, [28 * scale, 28 * scale]);
      t = t.pad([[0, rows * cols - n], [pad, 0], [pad, 0], [0, 0]], grey);
      t = t.reshape([rows, cols, cell, cell]).transpose([0, 2, 1, 3]).reshape([rows * cell, cols * cell, 1]);
      return t.pad([[0, pad], [0, pad], [0, 0]], grey);
    });
    await tf.browser.toPixels(image, canvas);
    image.dispose();
  }
}
