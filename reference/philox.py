"""Philox4x32-10 in numpy, bit for bit the generator of nanogan's src/cpu/random.rs.

nanogan draws its initial weights on the host from `InitRng`: a sequential Philox stream
(seed, stream 0x1417, step 0) whose i-th draw is philox([i, stream, 0, 0], [seed lo, seed hi]).
This module reproduces those draws (and the f64 maths that maps them to uniform / normal
values, rounded to f32 at the end), so the PyTorch twin starts from the very weights nanogan
starts from. Multiplications use uint64, so the high words (mulhi) are exact.
"""

import numpy as np

M0 = np.uint64(0xD2511F53)
M1 = np.uint64(0xCD9E8D57)
W0 = np.uint32(0x9E3779B9)
W1 = np.uint32(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)
INIT_STREAM = 0x1417


def philox(c0, c1, c2, c3, k0, k1):
    """Ten rounds over counter arrays (uint32) with key (k0, k1); returns four uint32 arrays."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint32) for c in (c0, c1, c2, c3))
    k0, k1 = np.uint32(k0), np.uint32(k1)
    with np.errstate(over="ignore"):
        for _ in range(10):
            p0 = M0 * c0.astype(np.uint64)
            p1 = M1 * c2.astype(np.uint64)
            c0, c1, c2, c3 = (
                (p1 >> np.uint64(32)).astype(np.uint32) ^ c1 ^ k0,
                (p1 & MASK32).astype(np.uint32),
                (p0 >> np.uint64(32)).astype(np.uint32) ^ c3 ^ k1,
                (p0 & MASK32).astype(np.uint32),
            )
            k0 = np.uint32(k0 + W0)
            k1 = np.uint32(k1 + W1)
    return c0, c1, c2, c3


def split_seed(seed):
    seed &= (1 << 64) - 1
    return seed & 0xFFFFFFFF, seed >> 32


def to_unit(bits):
    """24 bits, centred, in (0, 1), as f64 (`to_unit` in common.wgsl and cpu/random.rs)."""
    return ((bits >> np.uint32(8)).astype(np.float64) + 0.5) / 16777216.0


def to_normal(b0, b1):
    """Box-Muller on the first two words, in f64."""
    u1, u2 = to_unit(b0), to_unit(b1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def draw(seed, stream, step, i):
    """The four words of element(s) i of the stream (seed, stream, step)."""
    i = np.asarray(i, dtype=np.uint32)
    k0, k1 = split_seed(seed)
    z = np.zeros_like(i)
    return philox(i, z + np.uint32(stream), z + np.uint32(step), z, k0, k1)


class InitRng:
    """nanogan's `InitRng`: each value takes the next counter of stream 0x1417."""

    def __init__(self, seed):
        self.seed = seed
        self.stream = INIT_STREAM
        self.next = 0

    def bits(self, n):
        if self.next + n >= 1 << 32:
            raise ValueError("more than 2^32 draws from one InitRng stream is not reproduced here")
        words = draw(self.seed, self.stream, 0, np.arange(self.next, self.next + n, dtype=np.uint64).astype(np.uint32))
        self.next += n
        return words

    def uniform(self, lo, hi, n):
        """Uniform in (lo, hi): lo, hi are f32, hi − lo is an f32 difference, the rest f64."""
        lo, hi = np.float32(lo), np.float32(hi)
        span = np.float64(np.float32(hi - lo))
        return (np.float64(lo) + span * to_unit(self.bits(n)[0])).astype(np.float32)

    def normal(self, mean, std, n):
        b = self.bits(n)
        return (np.float64(np.float32(mean)) + np.float64(np.float32(std)) * to_normal(b[0], b[1])).astype(np.float32)


def weight_and_bias(init, rng, weight_len, bias_len, fan_in):
    """`init::weight_and_bias`: Torch draws the weight then the bias from U(±1/√fan_in);
    Dcgan draws the weight from N(0, 0.02) and leaves the bias 0."""
    if init == "torch":
        bound = np.float32(1.0) / np.sqrt(np.float32(max(fan_in, 1)))
        return rng.uniform(-bound, bound, weight_len), rng.uniform(-bound, bound, bias_len)
    if init == "dcgan":
        return rng.normal(0.0, 0.02, weight_len), np.zeros(bias_len, np.float32)
    raise ValueError(f"unknown init {init!r}")


def batch_norm(init, rng, channels):
    """`init::batch_norm`: Torch γ = 1; Dcgan γ ~ N(1, 0.02) (drawn); β = 0 for both."""
    if init == "torch":
        return np.ones(channels, np.float32), np.zeros(channels, np.float32)
    return rng.normal(1.0, 0.02, channels), np.zeros(channels, np.float32)


def _self_test():
    # Random123's known-answer vectors for Philox4x32-10.
    kat = [
        ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
        ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
        (
            [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344],
            [0xA4093822, 0x299F31D0],
            [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1],
        ),
    ]
    for c, k, want in kat:
        got = [int(w[0]) for w in philox(*[np.array([x], np.uint32) for x in c], *k)]
        assert got == want, (c, k, [hex(g) for g in got])


if __name__ == "__main__":
    _self_test()
    print("philox4x32-10 known answers ok")
