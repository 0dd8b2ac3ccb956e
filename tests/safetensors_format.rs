//! nanogan reads and writes safetensors itself (src/io/safetensors.rs); the `safetensors` crate,
//! which PyTorch's loader is built on, is the reference here. Files go both ways, and thousands
//! of mangled files must be refused or accepted alike (with the same contents when accepted).

use hashbrown::HashMap;
use nanogan::io::safetensors::{read, write};
use nanogan::Checkpoint;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Metadata with every character class the JSON writer must escape.
fn awkward_metadata() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("config".into(), "model=mlp\nloss=lsgan a=-1 b=1 c=0\tlr=0.0002".into());
    m.insert("quote\"back\\slash".into(), "ctrl \u{1} \u{8} \u{c} \r \u{1f} del \u{7f}".into());
    m.insert("unicode".into(), "é ∑ 𝔾 🙂 /slash".into());
    m.insert("empty".into(), String::new());
    m
}

fn crate_metadata(st_bytes: &[u8]) -> BTreeMap<String, String> {
    let (_, header) = SafeTensors::read_metadata(st_bytes).unwrap();
    header.metadata().clone().unwrap_or_default().into_iter().collect()
}

#[test]
fn the_crate_reads_what_nanogan_writes() {
    let values: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 - 1.0).collect();
    let mut c = Checkpoint { metadata: awkward_metadata(), ..Checkpoint::default() };
    c.tensors.insert(
        "generator.0.weight".into(),
        nanogan::io::checkpoint::Stored { shape: vec![3, 4], data: values.clone() },
    );
    c.tensors.insert(
        "generator.0.bias".into(),
        nanogan::io::checkpoint::Stored { shape: vec![3], data: values[..3].to_vec() },
    );
    c.tensors.insert("scalar".into(), nanogan::io::checkpoint::Stored { shape: vec![], data: vec![7.5] });
    c.tensors.insert("empty".into(), nanogan::io::checkpoint::Stored { shape: vec![0, 5], data: vec![] });
    for f16 in [false, true] {
        let bytes = c.to_bytes(f16).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(header_len % 8, 0, "the header is padded to 8 bytes");
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.len(), 4);
        for (name, t) in &c.tensors {
            let view = st.tensor(name).unwrap();
            assert_eq!(view.shape(), t.shape.as_slice(), "{name}");
            let got: Vec<f32> = if f16 {
                assert_eq!(view.dtype(), Dtype::F16);
                bytemuck::pod_collect_to_vec::<u8, half::f16>(view.data()).iter().map(|h| h.to_f32()).collect()
            } else {
                assert_eq!(view.dtype(), Dtype::F32);
                bytemuck::pod_collect_to_vec(view.data())
            };
            assert_eq!(got, t.data, "{name}");
        }
        assert_eq!(crate_metadata(&bytes), c.metadata);
        assert_eq!(Checkpoint::from_bytes(&bytes, "round trip").unwrap().tensors.len(), 4);
    }
}

#[test]
fn nanogan_writes_the_crates_bytes() {
    let a: Vec<u8> = (0..24).collect();
    let b: Vec<u8> = (100..108).collect();
    let shapes = [vec![2, 3], vec![2]];
    let ours_tensors: Vec<(&str, &str, &[usize], &[u8])> =
        vec![("a.weight", "F32", &shapes[0], &a), ("b.bias", "F32", &shapes[1], &b)];
    for meta in [BTreeMap::new(), BTreeMap::from([("config".to_string(), "x=\"1\"\n".to_string())])] {
        let ours = write(&ours_tensors, &meta);
        let views = vec![
            ("b.bias", TensorView::new(Dtype::F32, shapes[1].clone(), &b).unwrap()),
            ("a.weight", TensorView::new(Dtype::F32, shapes[0].clone(), &a).unwrap()),
        ];
        let info = (!meta.is_empty()).then(|| meta.clone().into_iter().collect::<HashMap<_, _>>());
        let theirs = safetensors::serialize(views, info).unwrap();
        assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
    }
}

/// A file the crate writes with many dtypes and metadata, as PyTorch would.
fn crate_file() -> Vec<u8> {
    let bytes: Vec<u8> = (0..=255).collect();
    let specs: [(&str, Dtype, Vec<usize>, usize); 6] = [
        ("f64", Dtype::F64, vec![2, 2], 32),
        ("i64", Dtype::I64, vec![1], 8),
        ("bf16", Dtype::BF16, vec![3], 6),
        ("u8", Dtype::U8, vec![5], 5),
        ("bool", Dtype::BOOL, vec![2], 2),
        ("f32", Dtype::F32, vec![2, 1, 2], 16),
    ];
    let views: Vec<_> = specs
        .iter()
        .map(|(n, d, s, len)| (n.to_string(), TensorView::new(*d, s.clone(), &bytes[..*len]).unwrap()))
        .collect();
    let meta: HashMap<String, String> = awkward_metadata().into_iter().collect();
    safetensors::serialize(views, Some(meta)).unwrap()
}

fn golden_files() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    ["inputs.safetensors", "discrete_bgan.safetensors", "metrics.safetensors"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect()
}

/// Ours accepts exactly when the crate does, and then reads the same tensors and metadata.
/// Ours is stricter in one place, on purpose: a repeated JSON key (the crate keeps the last).
fn agree(bytes: &[u8], what: &str) -> bool {
    let theirs = SafeTensors::deserialize(bytes);
    let ours = read(bytes);
    match (&ours, &theirs) {
        (Ok((entries, meta)), Ok(st)) => {
            assert_eq!(entries.len(), st.len(), "{what}");
            for e in entries {
                let view = st.tensor(&e.name).unwrap_or_else(|_| panic!("{what}: crate lacks {}", e.name));
                assert_eq!(format!("{:?}", view.dtype()), e.dtype, "{what}");
                assert_eq!(view.shape(), e.shape.as_slice(), "{what}");
                assert_eq!(view.data(), e.data, "{what}");
            }
            assert_eq!(*meta, crate_metadata(bytes), "{what}");
            true
        }
        (Err(e), Ok(_)) if e.contains("twice") => false,
        (Err(_), Err(_)) => false,
        (Ok(_), Err(e)) => panic!("{what}: nanogan accepts a file the crate refuses ({e}): {:?}", header_text(bytes)),
        (Err(e), Ok(_)) => panic!("{what}: nanogan refuses a file the crate accepts ({e}): {:?}", header_text(bytes)),
    }
}

fn header_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[8.min(bytes.len())..bytes.len().min(400)]).into_owned()
}

#[test]
fn nanogan_reads_what_the_crate_writes() {
    let file = crate_file();
    assert!(agree(&file, "crate file"));
    let (entries, meta) = read(&file).unwrap();
    assert_eq!(meta, awkward_metadata());
    assert_eq!(entries.len(), 6);
    for file in golden_files() {
        assert!(agree(&file, "golden file"));
    }
}

/// A file from a header text and `data_len` bytes of data, the header padded as writers do.
fn file_with_header(header: &str, data_len: usize) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(vec![7u8; data_len]);
    out
}

#[test]
fn hand_written_headers_agree() {
    let t = r#""t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#;
    let accepted = [
        format!("{{{t}}}"),
        format!("{{\"__metadata__\":null,{t}}}"),
        format!("{{ \n\t{t} , \"__metadata__\" : {{ \"k\" : \"\\u00e9\\ud83d\\ude42\\/\" }} }}"),
        // Fields a writer adds are skipped, whatever JSON they hold.
        r#"{"t":{"extra":[1.5e3,-2,true,null,{"x":[[]]}],"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.into(),
        r#"{"t":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"u":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#
            .into(),
    ];
    for header in &accepted {
        assert!(agree(&file_with_header(header, 8), header), "refused: {header}");
    }
    let refused = [
        r#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#.to_string(),
        r#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x"#.into(),
        r#"{"t":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#.into(),
        r#"{"t":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#.into(),
        r#"{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#.into(),
        r#"{"t":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}}"#.into(),
        r#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#.into(),
        r#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}"#.into(),
        r#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#.into(),
        r#"{"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#.into(),
        r#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}}"#.into(),
        r#"{"__metadata__":{"k":1},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.into(),
        r#"{"__metadata__":{"k":"\ud83d"},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.into(),
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"n\":\"a\u{1}b\"}".into(),
        "[]".into(),
        String::new(),
    ];
    for header in &refused {
        assert!(!agree(&file_with_header(header, 8), header), "accepted: {header}");
    }
    // Bytes beyond the last tensor, and too few.
    for data_len in [7, 9] {
        assert!(!agree(&file_with_header(&format!("{{{t}}}"), data_len), "data length"));
    }
    // Deep nesting is refused before it can exhaust the stack.
    let deep = format!("{{\"t\":{}", "[".repeat(200_000));
    assert!(!agree(&file_with_header(&deep, 8), "deep nesting"));
    // A repeated key: the crate keeps the last, nanogan refuses and says which.
    let twice = file_with_header(&format!("{{{t},{t}}}"), 8);
    assert!(SafeTensors::deserialize(&twice).is_ok());
    let e = read(&twice).err().unwrap_or_default();
    assert!(e.contains("'t' appears twice"), "{e}");
}

/// xorshift64*: a fixed, dependency-free stream of mutations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Mutations aimed at the header: bytes that matter to JSON, digits in offsets and shapes,
/// truncation, and a changed header length.
fn mutate(rng: &mut Rng, file: &[u8]) -> Vec<u8> {
    let mut bytes = file.to_vec();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    const TOKENS: &[&[u8]] = &[
        b"\"",
        b"\\",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"0",
        b"1",
        b"9",
        b"-",
        b".",
        b"e",
        b" ",
        b"\n",
        b"null",
        b"true",
        b"\\u0041",
        b"\\ud83d\\ude42",
        b"\\ud83d",
        b"\x01",
        b"\xc3\xa9",
        b"\xff",
        b"\"__metadata__\"",
        b"\"dtype\"",
        b"\"F16\"",
        b"\"shape\"",
        b"\"data_offsets\"",
        b"18446744073709551616",
    ];
    for _ in 0..1 + rng.below(3) {
        let at = 8 + rng.below(header_len);
        match rng.below(6) {
            0 => bytes[at] = TOKENS[rng.below(TOKENS.len())][0],
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(at..at, t.iter().copied());
                bytes.splice(0..8, ((header_len + t.len()) as u64).to_le_bytes());
            }
            2 => {
                let end = (at + 1 + rng.below(8)).min(8 + header_len);
                bytes.splice(0..8, ((header_len - (end - at)) as u64).to_le_bytes());
                bytes.drain(at..end);
            }
            3 => bytes.truncate(rng.below(file.len())),
            4 => {
                let len = (header_len as i64 + rng.below(17) as i64 - 8).max(0) as u64;
                bytes.splice(0..8, len.to_le_bytes());
            }
            _ => bytes[at] = bytes[at].wrapping_add(1 + rng.below(9) as u8),
        }
        if bytes.len() < 8 + header_len.min(bytes.len()) {
            break;
        }
    }
    bytes
}

#[test]
fn mangled_files_are_refused_or_read_alike() {
    let mut c = Checkpoint { metadata: awkward_metadata(), ..Checkpoint::default() };
    c.tensors.insert("g.0.weight".into(), nanogan::io::checkpoint::Stored { shape: vec![2, 3], data: vec![0.5; 6] });
    c.tensors.insert("g.0.bias".into(), nanogan::io::checkpoint::Stored { shape: vec![2], data: vec![1.0; 2] });
    let mut seeds = vec![crate_file(), c.to_bytes(false).unwrap(), c.to_bytes(true).unwrap()];
    seeds.extend(golden_files().into_iter().filter(|f| f.len() < 200_000));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut total) = (0, 0);
    for round in 0..std::env::var("MUTANTS").ok().and_then(|v| v.parse().ok()).unwrap_or(4000) {
        let seed = &seeds[round % seeds.len()];
        let bytes = mutate(&mut rng, seed);
        if bytes.len() < 8 {
            continue;
        }
        total += 1;
        accepted += agree(&bytes, &format!("mutant {round}")) as usize;
    }
    eprintln!("{accepted} of {total} accepted");
    // The mutations must reach both outcomes, or this test checks little.
    assert!(accepted > total / 20 && accepted < total * 19 / 20, "{accepted} of {total} accepted");
}
