//! What each fuzz target does with its input, shared by the libFuzzer targets in
//! `fuzz_targets/` (nightly, `fuzz/run.sh`) and by `tests/fuzz_regressions.rs`, which replays the
//! committed corpus on stable. Errors are fine; a panic, hang or runaway allocation is a bug.
//! Depends on nothing but nanogan and std, so the regression test needs no extra crates.

use nanogan::io::data::{parse_idx, Dataset};
use nanogan::{Checkpoint, Config};
use std::borrow::Cow;

/// `idx`: the bytes as an IDX file (raw or gzip); a parsed file as images, and as labels.
pub fn idx(data: &[u8]) {
    let Ok(idx) = parse_idx(data, "fuzz") else { return };
    let expected: usize = idx.dims.iter().product();
    assert_eq!(idx.data.len(), expected, "dimensions {:?} but {} bytes of data", idx.dims, idx.data.len());
    let _ = Dataset::from_idx(idx.clone(), Some(idx.clone()), "fuzz");
    let _ = Dataset::from_idx(idx, None, "fuzz");
}

/// `config`: the bytes as config text (lossily converted when they are not UTF-8). A config that
/// parses must survive its own text form unchanged.
pub fn config(data: &[u8]) {
    let text = match std::str::from_utf8(data) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(data),
    };
    let Ok(c) = Config::from_text(&text) else { return };
    let again = Config::from_text(&c.to_text()).unwrap_or_else(|e| panic!("'{}' does not parse: {e}", c.to_text()));
    assert_eq!(again.to_text(), c.to_text());
}

/// `checkpoint`: the first byte picks the form of the rest. Even: the rest is a file as is
/// (the committed real checkpoints are seeds of this form). Odd: the rest drives
/// `safetensors_from`, which writes a safetensors file from real tensor names, every dtype,
/// small and huge shapes, good and bad offsets and real or mangled training metadata, so most
/// inputs get past the header to the checks behind it.
pub fn checkpoint(data: &[u8]) {
    let Some((&form, rest)) = data.split_first() else { return };
    let bytes = if form % 2 == 0 { Cow::Borrowed(rest) } else { Cow::Owned(safetensors_from(rest)) };
    let Ok(c) = Checkpoint::from_bytes(&bytes, "fuzz") else { return };
    let _ = Config::from_checkpoint(&c);
    // What loads must write back and load again unchanged (f16 comes back as the same f32s).
    let written = c.to_bytes(false).unwrap_or_else(|e| panic!("a loaded checkpoint does not write: {e}"));
    let again = Checkpoint::from_bytes(&written, "rewritten").unwrap_or_else(|e| panic!("rewritten: {e}"));
    assert_eq!(again.metadata, c.metadata);
    assert_eq!(again.tensors.len(), c.tensors.len());
    for (name, t) in &c.tensors {
        let u = &again.tensors[name];
        assert_eq!(u.shape, t.shape, "{name}");
        assert!(u.data.iter().zip(&t.data).all(|(a, b)| a.to_bits() == b.to_bits()), "{name} changed");
    }
}

/// Choices read from the fuzzer's bytes; zeros once they run out.
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else { return 0 };
        self.0 = rest;
        b
    }
    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |a, _| (a << 8) | self.byte() as u64)
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[self.below(from.len())]
    }
    /// A short string from the input, or one of `from`.
    fn text(&mut self, from: &[&str]) -> String {
        match self.byte() % 4 {
            0 => {
                let n = self.below(24);
                String::from_utf8_lossy(self.bytes(n)).into_owned()
            }
            _ => self.pick(from).to_string(),
        }
    }
}

const NAMES: &[&str] = &[
    "generator.0.weight",
    "generator.0.bias",
    "generator.3.weight",
    "generator.3.running_mean",
    "generator.3.running_var",
    "discriminator.0.weight",
    "discriminator.4.bias",
    "optim.generator.0.weight.exp_avg",
    "optim.generator.0.weight.exp_avg_sq",
    "optim.discriminator.0.weight.exp_avg",
    "__metadata__",
    "",
];
const DTYPES: &[&str] = &[
    "F32", "F16", "F16", "F32", "BF16", "F64", "I8", "U8", "I16", "U16", "I32", "U32", "I64", "U64", "BOOL", "F8_E4M3",
    "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64", "f32", "X",
];
const KEYS: &[&str] = &["config", "step", "format", "generator.clock", "discriminator.clock", "config", "config"];
const VALUES: &[&str] = &[
    "model=mlp loss=lsgan a=0 b=1 c=1 z=100 batch=64 lr_d=0.0002 lr_g=0.0002 beta1=0.5 beta2=0.999 eps=0.00000001 d_steps=1 seed=0 init=torch log_every=10",
    "model=dcgan loss=bgan a=0 b=1 c=1 z=100 batch=64 lr_d=0.0004 lr_g=0.0001 beta1=0.5 beta2=0.999 eps=0.00000001 d_steps=2 seed=7 init=dcgan log_every=25",
    "1",
    "18446744073709551616",
    "nanogan-1",
    "1,1,0,0",
    "4294967296,-1",
];
/// Dimensions: small ones mostly, and the ones that overflow a product or a 32-bit index.
const DIMS: &[u64] = &[0, 1, 2, 3, 7, 28, 784, 1 << 16, 1 << 31, u32::MAX as u64, 1 << 32, 1 << 62, u64::MAX];

fn bytes_per(dtype: &str) -> u64 {
    match dtype {
        "F64" | "I64" | "U64" | "C64" => 8,
        "F32" | "I32" | "U32" => 4,
        "F16" | "BF16" | "I16" | "U16" => 2,
        _ => 1,
    }
}

/// JSON string literal (or, when `raw`, the text unescaped: a malformed header).
fn quote(s: &str, raw: bool) -> String {
    if raw {
        return format!("\"{s}\"");
    }
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out + "\""
}

/// A safetensors file (8-byte little-endian header length, JSON header, data) built from choices
/// read from `input`; see `checkpoint`.
pub fn safetensors_from(input: &[u8]) -> Vec<u8> {
    let mut c = Choices(input);
    let raw = c.byte() == 0xff;
    let mut entries = Vec::new();
    let mut offset = 0u64;
    for _ in 0..c.below(6) {
        let name = c.text(NAMES);
        let dtype = c.text(DTYPES);
        let shape: Vec<u64> = (0..c.below(5))
            .map(|_| if c.byte() < 224 { c.byte() as u64 % 40 } else { DIMS[c.below(DIMS.len())] })
            .collect();
        let len = shape.iter().try_fold(bytes_per(&dtype), |a, &d| a.checked_mul(d)).unwrap_or(u64::MAX);
        let (start, end) = match c.byte() % 8 {
            0 => (c.u64(), c.u64()),
            1 => (offset, offset.saturating_add(len).saturating_add(1)),
            2 => (offset.saturating_add(1), offset.saturating_add(len)),
            _ => (offset, offset.saturating_add(len)),
        };
        offset = end;
        let shape: Vec<String> = shape.iter().map(u64::to_string).collect();
        entries.push(format!(
            "{}:{{\"dtype\":{},\"shape\":[{}],\"data_offsets\":[{start},{end}]}}",
            quote(&name, raw),
            quote(&dtype, raw),
            shape.join(",")
        ));
    }
    if c.byte() % 4 != 0 {
        let mut meta = Vec::new();
        for _ in 0..c.below(5) {
            let key = c.text(KEYS);
            let value = match c.byte() % 8 {
                0 => c.u64().to_string(),
                // A real config with one value replaced.
                1 | 2 => {
                    let config = c.pick(&VALUES[..2]);
                    let pairs: Vec<&str> = config.split(' ').collect();
                    let at = c.below(pairs.len());
                    let key = pairs[at].split('=').next().unwrap_or("");
                    let value = c.text(&["nan", "inf", "-1", "1e300", "18446744073709551616", "0.5", "-0", ""]);
                    let replaced: Vec<String> = (0..pairs.len())
                        .map(|i| if i == at { format!("{key}={value}") } else { pairs[i].to_string() })
                        .collect();
                    quote(&replaced.join(" "), raw)
                }
                _ => quote(&c.text(VALUES), raw),
            };
            meta.push(format!("{}:{value}", quote(&key, raw)));
        }
        entries.insert(c.below(entries.len() + 1), format!("\"__metadata__\":{{{}}}", meta.join(",")));
    }
    let mut header = format!("{{{}}}", entries.join(","));
    header.extend(std::iter::repeat_n(' ', c.below(8)));
    let declared = match c.byte() % 16 {
        0 => c.u64(),
        1 => header.len() as u64 + 1,
        _ => header.len() as u64,
    };
    let mut out = declared.to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    // The data: what the offsets ask for when it is small, zero-filled past the input's bytes.
    let want = if offset <= 1 << 16 { offset as usize } else { c.below(64) };
    let data = c.bytes(want).to_vec();
    out.extend_from_slice(&data);
    out.resize(out.len() + (want - data.len()), 0);
    out
}
