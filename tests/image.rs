//! Sample grids and NPY files, without a GPU.

use nanogan::io::image::{decode_png_grey, grid, npy_f32, parse_npy, png_grey, to_byte};

#[test]
fn grid_places_each_image_and_round_trips_through_png() {
    // Three 2×3 images: all −1, all 0, all +1, in 2 columns with 1 pixel of padding, scale 2.
    let mut images = vec![-1.0f32; 6];
    images.extend(vec![0.0; 6]);
    images.extend(vec![1.0; 6]);
    let (w, h, pixels) = grid(&images, 2, 3, 2, 1, 2).unwrap();
    assert_eq!((w, h), (2 * (3 * 2 + 1) + 1, 2 * (2 * 2 + 1) + 1));
    let at = |x: usize, y: usize| pixels[y * w + x];
    assert_eq!(at(1, 1), 0);
    assert_eq!(at(1 + 7, 1), 128);
    assert_eq!(at(1, 1 + 5), 255);
    assert_eq!(at(0, 0), 32, "padding");
    let (w2, h2, decoded) = decode_png_grey(&png_grey(w, h, &pixels).unwrap()).unwrap();
    assert_eq!((w2, h2), (w, h));
    assert_eq!(decoded, pixels);
}

#[test]
fn grid_rejects_ragged_input() {
    let e = grid(&[0.0; 5], 2, 2, 1, 0, 1).unwrap_err().to_string();
    assert!(e.contains("5 values") && e.contains("2×2"), "{e}");
}

#[test]
fn bytes_clamp_and_survive_nan() {
    assert_eq!((to_byte(-5.0), to_byte(-1.0), to_byte(1.0), to_byte(7.0)), (0, 0, 255, 255));
    let _ = to_byte(f32::NAN);
}

#[test]
fn npy_has_numpys_header_and_data() {
    let bytes = npy_f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.5]).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + header_len) % 64, 0, "data must start 64-byte aligned");
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), "{header}");
    assert!(header.ends_with('\n'));
    let data: Vec<f32> =
        bytes[10 + header_len..].chunks(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert_eq!(data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
    assert!(npy_f32(&[4], &[1.0]).is_err());
    let one = npy_f32(&[1], &[0.0]).unwrap();
    assert!(std::str::from_utf8(&one[10..74]).unwrap().contains("'shape': (1,)"));
}

#[test]
fn npy_reads_back_what_it_writes_and_numpys_other_dtypes() {
    let values = [0.0, 0.25, 1.0, 0.5, 0.75, 0.125];
    let (shape, got) = parse_npy(&npy_f32(&[2, 3], &values).unwrap(), "t").unwrap();
    assert_eq!((shape, got), (vec![2, 3], values.to_vec()));
    // NumPy's uint8 (pixels, scaled to [0, 1]) and float64, version 1 headers.
    let header = |descr: &str, shape: &str| {
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        out
    };
    let mut u8s = header("|u1", "(3,)");
    u8s.extend_from_slice(&[0, 51, 255]);
    assert_eq!(parse_npy(&u8s, "t").unwrap(), (vec![3], vec![0.0, 0.2, 1.0]));
    let mut f64s = header("<f8", "(1, 2)");
    for v in [0.5f64, -2.0] {
        f64s.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(parse_npy(&f64s, "t").unwrap(), (vec![1, 2], vec![0.5, -2.0]));
    // Errors name the file and the problem.
    let good = npy_f32(&[2, 3], &values).unwrap();
    for (bytes, expect) in [
        (good[..good.len() - 1].to_vec(), "needs 24 bytes"),
        (b"not an npy".to_vec(), "no NPY magic"),
        (header("<i8", "(1,)"), "dtype <i8"),
        (header("<f4", "(1, x)"), "shape entry 'x'"),
        (header("<f4", "(99999999999, 99999999999, 99999999999)"), "too large"),
    ] {
        let e = parse_npy(&bytes, "samples.npy").unwrap_err().to_string();
        assert!(e.contains("samples.npy") && e.contains(expect), "{expect}: {e}");
    }
}
