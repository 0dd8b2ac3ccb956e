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
