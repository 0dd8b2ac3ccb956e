//! Philox4x32-10 on the CPU: the twin of `philox` in wgsl/common.wgsl, used for parameter
//! initialisation and to check the GPU generator bit for bit.

pub fn philox(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for _ in 0..10 {
        let p0 = 0xD251_1F53u64 * c[0] as u64;
        let p1 = 0xCD9E_8D57u64 * c[2] as u64;
        c = [(p1 >> 32) as u32 ^ c[1] ^ k[0], p1 as u32, (p0 >> 32) as u32 ^ c[3] ^ k[1], p0 as u32];
        k = [k[0].wrapping_add(0x9E37_79B9), k[1].wrapping_add(0xBB67_AE85)];
    }
    c
}

pub fn split_seed(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// Same mapping as `to_unit` in common.wgsl: 24 bits, centred, in (0, 1).
pub fn to_unit(bits: u32) -> f64 {
    ((bits >> 8) as f64 + 0.5) / 16_777_216.0
}

pub fn to_normal(bits: [u32; 4]) -> f64 {
    let u1 = to_unit(bits[0]);
    let u2 = to_unit(bits[1]);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Element `i` of the stream (seed, stream, step): the counter every GPU random kernel uses.
pub fn draw(seed: u64, stream: u32, step: u32, i: u32) -> [u32; 4] {
    philox([i, stream, step, 0], split_seed(seed))
}

pub fn uniform(seed: u64, stream: u32, step: u32, n: usize) -> Vec<f64> {
    (0..n as u32).map(|i| to_unit(draw(seed, stream, step, i)[0])).collect()
}

pub fn normal(seed: u64, stream: u32, step: u32, n: usize) -> Vec<f64> {
    (0..n as u32).map(|i| to_normal(draw(seed, stream, step, i))).collect()
}

/// A sequential generator for host-side initialisation: each call takes the next counter.
pub struct InitRng {
    seed: u64,
    stream: u32,
    next: u32,
}

impl InitRng {
    pub fn new(seed: u64) -> InitRng {
        InitRng { seed, stream: 0x1417, next: 0 }
    }

    fn bits(&mut self) -> [u32; 4] {
        let b = draw(self.seed, self.stream, 0, self.next);
        self.next = self.next.wrapping_add(1);
        if self.next == 0 {
            self.stream += 1;
        }
        b
    }

    /// Uniform in (lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32, n: usize) -> Vec<f32> {
        (0..n).map(|_| (lo as f64 + (hi - lo) as f64 * to_unit(self.bits()[0])) as f32).collect()
    }

    pub fn normal(&mut self, mean: f32, std: f32, n: usize) -> Vec<f32> {
        (0..n).map(|_| (mean as f64 + std as f64 * to_normal(self.bits())) as f32).collect()
    }
}
