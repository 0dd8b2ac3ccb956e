//! Pictures people look at and arrays other tools read: a grid of samples as PNG, samples as NPY.

use crate::error::{Error, Result};

/// Grey images (values in [−1, 1], each `h`×`w`) tiled `cols` wide with a `pad`-pixel dark
/// border, every pixel drawn `scale`×`scale`. Returns (width, height, grey bytes).
pub fn grid(
    images: &[f32],
    h: usize,
    w: usize,
    cols: usize,
    pad: usize,
    scale: usize,
) -> Result<(usize, usize, Vec<u8>)> {
    let len = h * w;
    if len == 0 || cols == 0 || scale == 0 || images.is_empty() || !images.len().is_multiple_of(len) {
        return Err(Error::Shape(format!(
            "cannot tile {} values as {h}×{w} images in {cols} columns at scale {scale}",
            images.len()
        )));
    }
    let n = images.len() / len;
    let rows = n.div_ceil(cols);
    let (cw, ch) = ((w * scale + pad), (h * scale + pad));
    let (width, height) = (cols * cw + pad, rows * ch + pad);
    let mut out = vec![32u8; width * height];
    for (k, img) in images.chunks(len).enumerate() {
        let (x0, y0) = (pad + (k % cols) * cw, pad + (k / cols) * ch);
        for y in 0..h * scale {
            for x in 0..w * scale {
                out[(y0 + y) * width + x0 + x] = to_byte(img[(y / scale) * w + x / scale]);
            }
        }
    }
    Ok((width, height, out))
}

/// [−1, 1] → [0, 255]; NaN shows as black rather than panicking.
pub fn to_byte(v: f32) -> u8 {
    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// Encodes 8-bit grey pixels as a PNG.
pub fn png_grey(width: usize, height: usize, pixels: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| Error::Io(format!("PNG header: {e}")))?;
    writer.write_image_data(pixels).map_err(|e| Error::Io(format!("PNG data: {e}")))?;
    writer.finish().map_err(|e| Error::Io(format!("PNG end: {e}")))?;
    Ok(out)
}

/// Decodes an 8-bit grey PNG (for tests and tools): (width, height, pixels).
pub fn decode_png_grey(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>)> {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().map_err(|e| Error::Format(format!("PNG: {e}")))?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut buf).map_err(|e| Error::Format(format!("PNG: {e}")))?;
    if info.color_type != png::ColorType::Grayscale || info.bit_depth != png::BitDepth::Eight {
        return Err(Error::Format(format!("PNG is {:?} {:?}, expected 8-bit grey", info.color_type, info.bit_depth)));
    }
    buf.truncate(info.buffer_size());
    Ok((info.width as usize, info.height as usize, buf))
}

/// A NumPy .npy (format 1.0) of little-endian float32 with `shape`.
pub fn npy_f32(shape: &[usize], data: &[f32]) -> Result<Vec<u8>> {
    if shape.iter().product::<usize>() != data.len() {
        return Err(Error::Shape(format!("NPY shape {shape:?} does not hold {} values", data.len())));
    }
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Reads an NPY array of float32, float64 or uint8 (little-endian, C order), as `npy_f32`
/// writes and NumPy saves: (shape, values as f32; uint8 pixels scaled by 1/255 to [0, 1]).
/// `what` names the file in errors.
pub fn parse_npy(bytes: &[u8], what: &str) -> Result<(Vec<usize>, Vec<f32>)> {
    let bad = |why: &str| Error::Format(format!("{what}: not a readable NPY file ({why})"));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("no NPY magic"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(bad(&format!("format version {v}"))),
    };
    let header = bytes.get(start..start.saturating_add(header_len)).ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        Some(header[at..].trim_start().strip_prefix(':')?.trim_start())
    };
    let descr = field("descr").and_then(|v| v.strip_prefix('\'')).and_then(|v| v.split('\'').next());
    let width = match descr {
        Some("<f4") => 4,
        Some("<f8") => 8,
        Some("|u1") | Some("<u1") => 1,
        other => return Err(bad(&format!("dtype {}; float32, float64 or uint8 expected", other.unwrap_or("missing")))),
    };
    if field("fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(bad("Fortran order; save it with np.ascontiguousarray"));
    }
    let dims = field("shape")
        .and_then(|v| v.strip_prefix('('))
        .and_then(|v| v.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let shape = dims
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<usize>().map_err(|_| bad(&format!("shape entry '{d}'"))))
        .collect::<Result<Vec<usize>>>()?;
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or_else(|| bad("shape too large"))?;
    let data = &bytes[start + header_len..];
    if Some(data.len()) != count.checked_mul(width) {
        return Err(bad(&format!(
            "shape {shape:?} needs {} bytes of data, the file holds {}",
            count.saturating_mul(width),
            data.len()
        )));
    }
    let values = match width {
        4 => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        8 => data.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32).collect(),
        _ => data.iter().map(|&b| b as f32 / 255.0).collect(),
    };
    Ok((shape, values))
}
