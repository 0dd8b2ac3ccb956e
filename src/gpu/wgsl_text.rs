//! The WGSL the crate embeds, without its comments and indentation: stripped by const
//! evaluation at compile time, so the wasm the browser downloads (and every native binary)
//! carries about 40% less shader text. Line breaks are kept, so a shader compiler's message
//! names the same line as the file in `wgsl/`.

/// Bytes of `src` once stripped (see `strip`).
pub const fn stripped_len(src: &[u8]) -> usize {
    walk(src, &mut [])
}

/// `src` with `//` comments, leading and trailing blanks removed from every line, line breaks
/// kept. `N` must be `stripped_len(src)`. Block comments are refused at compile time: the
/// shaders do not use them, and stripping them right needs WGSL's nesting rules.
pub const fn strip<const N: usize>(src: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let written = walk(src, &mut out);
    assert!(written == N, "strip::<N>: N is not stripped_len(src)");
    out
}

/// Strips `src` into `out` as far as `out` reaches (an empty `out` only counts); returns the
/// stripped length. Trailing blanks are written before they are known to be trailing, so every
/// write is bounds-checked rather than assumed to fit.
const fn walk(src: &[u8], out: &mut [u8]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < src.len() {
        // One line: skip its indentation, copy up to a comment or its end, drop trailing blanks.
        while i < src.len() && is_blank(src[i]) {
            i += 1;
        }
        let mut kept = len;
        while i < src.len() && src[i] != b'\n' {
            if src[i] == b'/' && i + 1 < src.len() {
                assert!(src[i + 1] != b'*', "WGSL block comments are not supported by the stripper");
                if src[i + 1] == b'/' {
                    while i < src.len() && src[i] != b'\n' {
                        i += 1;
                    }
                    break;
                }
            }
            if len < out.len() {
                out[len] = src[i];
            }
            len += 1;
            if !is_blank(src[i]) {
                kept = len;
            }
            i += 1;
        }
        len = kept;
        if i < src.len() {
            if len < out.len() {
                out[len] = b'\n';
            }
            len += 1;
            i += 1;
        }
    }
    len
}

const fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\r'
}

/// A `&'static str` of the stripped text of a string literal (e.g. `concat!(include_str!(…))`).
macro_rules! stripped_wgsl {
    ($src:expr) => {{
        const SRC: &[u8] = $src.as_bytes();
        const LEN: usize = $crate::gpu::wgsl_text::stripped_len(SRC);
        const BYTES: [u8; LEN] = $crate::gpu::wgsl_text::strip::<LEN>(SRC);
        // Cuts fall on ASCII bytes ('/', blanks, line breaks), so UTF-8 stays whole.
        const TEXT: &str = match core::str::from_utf8(&BYTES) {
            Ok(text) => text,
            Err(_) => panic!("stripped WGSL is not UTF-8"),
        };
        TEXT
    }};
}
pub(crate) use stripped_wgsl;

#[cfg(test)]
mod tests {
    use super::*;

    fn stripped(src: &str) -> String {
        let mut out = vec![0u8; stripped_len(src.as_bytes())];
        let n = walk(src.as_bytes(), &mut out);
        assert_eq!(n, out.len());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn comments_and_indentation_go_line_breaks_stay() {
        let src = "// header · with UTF-8\nfn f(x: f32) -> f32 {   \n    let y = x / 2.0; // half\n\treturn y;\n}\n";
        assert_eq!(stripped(src), "\nfn f(x: f32) -> f32 {\nlet y = x / 2.0;\nreturn y;\n}\n");
        assert_eq!(stripped(src).lines().count(), src.lines().count());
    }

    #[test]
    fn edges() {
        assert_eq!(stripped(""), "");
        assert_eq!(stripped("a"), "a");
        assert_eq!(stripped("a // b"), "a");
        assert_eq!(stripped("//"), "");
        assert_eq!(stripped("x/"), "x/");
        assert_eq!(stripped("  \n \n"), "\n\n");
    }

    #[test]
    fn the_const_form_agrees() {
        const TEXT: &str = stripped_wgsl!("  a = b; // c\n  d\n");
        assert_eq!(TEXT, "a = b;\nd\n");
    }
}
