//! The safetensors container, read and written here instead of through the `safetensors` crate,
//! whose serde and serde_json machinery cost the browser build 22 KB of its 185 KB gzipped.
//! The format is small: a little-endian u64 header length, a JSON object giving each tensor's
//! dtype, shape and byte range in the data that follows (plus an optional `__metadata__` map
//! of strings), padded with spaces to 8 bytes, then the tensors' bytes back to back.
//! `tests/safetensors_format.rs` holds this file to the crate in both directions and on
//! mangled files; what the crate refuses, this refuses too.

use std::collections::BTreeMap;

/// The crate's limit: a longer header is refused before it is parsed.
const MAX_HEADER: usize = 100_000_000;
/// Headers nest two levels; deeper input is refused before it can exhaust the stack.
const MAX_DEPTH: usize = 16;

/// One tensor as stored: its bytes borrow from the file.
pub struct Entry<'a> {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub data: &'a [u8],
}

/// Bits per element of each dtype the format defines; a file naming another is refused.
fn dtype_bits(dtype: &str) -> Option<usize> {
    Some(match dtype {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" | "F8_E4M3FNUZ" | "F8_E5M2FNUZ" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "C64" | "F64" | "I64" | "U64" => 64,
        _ => return None,
    })
}

/// Serialises tensors `(name, dtype, shape, bytes)` and string metadata, the tensors' bytes in
/// the order given (the crate's own order, when they share one dtype and come sorted by name,
/// as a checkpoint's do: then the two writers' files are byte for byte the same).
pub fn write(tensors: &[(&str, &str, &[usize], &[u8])], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = String::from("{");
    if !metadata.is_empty() {
        header.push_str("\"__metadata__\":{");
        for (i, (k, v)) in metadata.iter().enumerate() {
            if i > 0 {
                header.push(',');
            }
            push_json_string(&mut header, k);
            header.push(':');
            push_json_string(&mut header, v);
        }
        header.push('}');
    }
    let mut offset = 0;
    for (i, (name, dtype, shape, data)) in tensors.iter().enumerate() {
        if i > 0 || !metadata.is_empty() {
            header.push(',');
        }
        push_json_string(&mut header, name);
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let end = offset + data.len();
        header.push_str(&format!(
            ":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{offset},{end}]}}",
            dims.join(",")
        ));
        offset = end;
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for (_, _, _, data) in tensors {
        out.extend_from_slice(data);
    }
    out
}

/// JSON string escaping as serde_json writes it: quotes, backslashes and control characters.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses a whole file: its tensors in data order and its metadata. Refuses, with a message
/// saying what is wrong, any file the crate would refuse: a header that is not JSON or runs
/// past the end, an unknown dtype, a byte range that does not match its shape, ranges that
/// overlap or leave gaps, bytes beyond the last tensor, repeated names.
pub fn read(bytes: &[u8]) -> Result<(Vec<Entry<'_>>, BTreeMap<String, String>), String> {
    let Some(length) = bytes.get(..8) else {
        return Err(format!("{} bytes is too short for a header", bytes.len()));
    };
    let length = u64::from_le_bytes(length.try_into().map_err(|_| "unreadable header length")?);
    if length > MAX_HEADER as u64 {
        return Err(format!("header length {length} is over the limit of {MAX_HEADER} bytes"));
    }
    let end = 8 + length as usize;
    let Some(header) = bytes.get(8..end) else {
        return Err(format!("header length {length} runs past the end of the file ({} bytes)", bytes.len()));
    };
    let header = std::str::from_utf8(header).map_err(|e| format!("header is not UTF-8: {e}"))?;
    let mut parser = Parser { text: header.as_bytes(), at: 0 };
    let root = parser.value(0)?;
    parser.skip_space();
    if parser.at != parser.text.len() {
        return Err(parser.error("trailing characters after the header object"));
    }
    let Json::Object(fields) = root else {
        return Err("header is not a JSON object".into());
    };
    let data = &bytes[end..];
    let mut metadata = BTreeMap::new();
    let mut infos = Vec::new();
    for (name, value) in fields {
        if name == "__metadata__" {
            if let Json::Null = value {
                continue;
            }
            let Json::Object(pairs) = value else {
                return Err("__metadata__ is not a map of strings".into());
            };
            for (k, v) in pairs {
                let Json::String(v) = v else {
                    return Err(format!("__metadata__ '{k}' is not a string"));
                };
                metadata.insert(k, v);
            }
        } else {
            infos.push(tensor_info(name, value)?);
        }
    }
    // Names are unique, so this order is total (and an unstable sort keeps the wasm smaller).
    infos.sort_unstable_by(|a, b| a.3.cmp(&b.3).then_with(|| a.0.cmp(&b.0)));
    let mut next = 0;
    let mut entries = Vec::with_capacity(infos.len());
    for (name, dtype, shape, (begin, stop)) in infos {
        if begin != next || stop < begin {
            return Err(format!("tensor '{name}' has byte range {begin}..{stop}; the previous tensor ended at {next}"));
        }
        let bits = dtype_bits(&dtype).ok_or_else(|| format!("tensor '{name}' has unknown dtype '{dtype}'"))?;
        let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let size = count.and_then(|n| n.checked_mul(bits)).filter(|b| b % 8 == 0).map(|b| b / 8);
        if size != Some(stop - begin) {
            return Err(format!("tensor '{name}' ({dtype} {shape:?}) does not fill its {} bytes", stop - begin));
        }
        let Some(slice) = data.get(begin..stop) else {
            return Err(format!("tensor '{name}' runs past the end of the file"));
        };
        entries.push(Entry { name, dtype, shape, data: slice });
        next = stop;
    }
    if next != data.len() {
        return Err(format!("{} bytes after the header but the tensors cover {next}", data.len()));
    }
    Ok((entries, metadata))
}

type TensorInfo = (String, String, Vec<usize>, (usize, usize));

fn tensor_info(name: String, value: Json) -> Result<TensorInfo, String> {
    let Json::Object(fields) = value else {
        return Err(format!("tensor '{name}' is not described by an object"));
    };
    let (mut dtype, mut shape, mut offsets) = (None, None, None);
    for (key, v) in fields {
        match key.as_str() {
            "dtype" => dtype = Some(v),
            "shape" => shape = Some(v),
            "data_offsets" => offsets = Some(v),
            _ => {}
        }
    }
    let bad = |what: &str| format!("tensor '{name}' has no valid {what}");
    let Some(Json::String(dtype)) = dtype else { return Err(bad("dtype")) };
    let shape = shape.and_then(integers).ok_or_else(|| bad("shape"))?;
    let offsets = match offsets.and_then(integers).as_deref() {
        Some(&[begin, end]) => (begin, end),
        _ => return Err(bad("data_offsets")),
    };
    Ok((name, dtype, shape, offsets))
}

fn integers(value: Json) -> Option<Vec<usize>> {
    let Json::Array(items) = value else { return None };
    items.into_iter().map(|v| if let Json::Integer(n) = v { Some(n) } else { None }).collect()
}

/// The JSON a header can hold. Numbers other than unsigned integers, and booleans, parse (so a
/// header stays readable when a writer adds fields of its own) but are never valid where read.
enum Json {
    /// Keys are unique: a repeated key is refused while parsing.
    Object(Vec<(String, Json)>),
    Array(Vec<Json>),
    String(String),
    Integer(usize),
    Null,
    Other,
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("header JSON: {what} at byte {}", self.at)
    }

    fn skip_space(&mut self) {
        while matches!(self.text.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() != Some(byte) {
            return Err(self.error(&format!("expected '{}'", byte as char)));
        }
        self.at += 1;
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => {
                self.at += 1;
                let mut fields = Vec::new();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Json::Object(fields));
                }
                let mut keys = std::collections::BTreeSet::new();
                loop {
                    let key = self.string()?;
                    if !keys.insert(key.clone()) {
                        return Err(self.error(&format!("the key '{key}' appears twice")));
                    }
                    self.expect(b':')?;
                    fields.push((key, self.value(depth + 1)?));
                    if self.peek() == Some(b',') {
                        self.at += 1;
                    } else {
                        self.expect(b'}')?;
                        return Ok(Json::Object(fields));
                    }
                }
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.peek() == Some(b',') {
                        self.at += 1;
                    } else {
                        self.expect(b']')?;
                        return Ok(Json::Array(items));
                    }
                }
            }
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b'0'..=b'9' | b'-') => self.number(),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null").map(|_| Json::Null),
            _ => Err(self.error("expected a value")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<Json, String> {
        if !self.text[self.at..].starts_with(word.as_bytes()) {
            return Err(self.error("expected a value"));
        }
        self.at += word.len();
        Ok(Json::Other)
    }

    /// JSON's number grammar; only an unsigned integer that fits a usize is kept.
    fn number(&mut self) -> Result<Json, String> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let from = p.at;
            while p.text.get(p.at).is_some_and(u8::is_ascii_digit) {
                p.at += 1;
            }
            p.at > from
        };
        let negative = self.text[self.at] == b'-';
        if negative {
            self.at += 1;
        }
        let int_start = self.at;
        if !digits(self) || (self.text[int_start] == b'0' && self.at - int_start > 1) {
            return Err(self.error("malformed number"));
        }
        let mut integer = !negative;
        if self.text.get(self.at) == Some(&b'.') {
            self.at += 1;
            integer = false;
            if !digits(self) {
                return Err(self.error("malformed number"));
            }
        }
        if matches!(self.text.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            integer = false;
            if matches!(self.text.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                return Err(self.error("malformed number"));
            }
        }
        if !integer {
            return Ok(Json::Other);
        }
        let text = std::str::from_utf8(&self.text[start..self.at]).map_err(|_| self.error("malformed number"))?;
        // Integers past u64 are valid JSON the crate refuses as well (it reads usize).
        text.parse().map(Json::Integer).map_err(|_| self.error("integer too large"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            let Some(&byte) = self.text.get(self.at) else {
                return Err(self.error("unterminated string"));
            };
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let Some(&escape) = self.text.get(self.at) else {
                        return Err(self.error("unterminated string"));
                    };
                    self.at += 1;
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error("unknown escape")),
                    };
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                0..=0x1f => return Err(self.error("control character in a string")),
                _ => out.push(byte),
            }
        }
        // The header as a whole is UTF-8 and escapes add only whole characters.
        String::from_utf8(out).map_err(|_| self.error("string is not UTF-8"))
    }

    /// After `\u`: four hex digits, or a surrogate pair written as two escapes.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if !self.text[self.at..].starts_with(b"\\u") {
                return Err(self.error("unpaired surrogate"));
            }
            self.at += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error("unpaired surrogate"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.error("unpaired surrogate"))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.text.get(self.at..self.at + 4).ok_or_else(|| self.error("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("bad \\u escape"))?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error("bad \\u escape"));
        }
        self.at += 4;
        u32::from_str_radix(text, 16).map_err(|_| self.error("bad \\u escape"))
    }
}
