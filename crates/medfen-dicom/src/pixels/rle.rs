//! DICOM RLE Lossless (PS3.5 Annex G) decoding and encoding.
//!
//! A frame is a 64-byte header (number of segments, then up to 15 segment offsets)
//! followed by PackBits-compressed segments, one per byte of each sample, most
//! significant byte first. Decoding writes each segment straight into its byte position
//! of the little-endian output, so no intermediate planes are allocated.

/// Decodes one RLE frame into `out`: `pixels * samples * bytes_per_sample` bytes,
/// little-endian samples, pixel-interleaved (sample 0, 1, 2 of pixel 0, then pixel 1...).
///
/// # Errors
/// A description of the first inconsistency (bad header, offsets outside the frame,
/// a segment that decodes to fewer bytes than the image needs).
pub fn decode_frame(
    frame: &[u8],
    pixels: usize,
    samples: usize,
    bytes_per_sample: usize,
    out: &mut [u8],
) -> Result<(), String> {
    if frame.len() < 64 {
        return Err(format!(
            "RLE frame of {} bytes is shorter than its 64-byte header",
            frame.len()
        ));
    }
    let word = |i: usize| {
        u32::from_le_bytes([
            frame[4 * i],
            frame[4 * i + 1],
            frame[4 * i + 2],
            frame[4 * i + 3],
        ]) as usize
    };
    let n_segments = word(0);
    let expected = samples * bytes_per_sample;
    if n_segments != expected {
        return Err(format!(
            "RLE header lists {n_segments} segments, {expected} expected ({samples} samples x {bytes_per_sample} bytes)"
        ));
    }
    if n_segments == 0 || n_segments > 15 {
        return Err(format!(
            "RLE header lists {n_segments} segments (1 to 15 allowed)"
        ));
    }
    let needed = pixels * expected;
    if out.len() < needed {
        return Err(format!(
            "output buffer of {} bytes, {needed} needed",
            out.len()
        ));
    }
    if n_segments == 1 {
        let (start, end) = segment_range(frame, &word, 0, 1)?;
        let written = unpack_strided(&frame[start..end], out, 1, pixels);
        return if written < pixels {
            Err(format!(
                "RLE segment 0 decodes to {written} bytes, {pixels} expected"
            ))
        } else {
            Ok(())
        };
    }
    // Each segment decodes contiguously (literal runs are copies, repeats are fills),
    // then one pass interleaves the byte planes into little-endian samples.
    let mut planes = vec![0u8; pixels * n_segments];
    for (s, plane) in planes.chunks_mut(pixels).enumerate() {
        let (start, end) = segment_range(frame, &word, s, n_segments)?;
        let written = unpack_strided(&frame[start..end], plane, 1, pixels);
        if written < pixels {
            return Err(format!(
                "RLE segment {s} decodes to {written} bytes, {pixels} expected"
            ));
        }
    }
    match (samples, bytes_per_sample) {
        (1, 2) => {
            let (msb, lsb) = planes.split_at(pixels);
            for ((o, &hi), &lo) in out.chunks_exact_mut(2).zip(msb).zip(lsb) {
                o[0] = lo;
                o[1] = hi;
            }
        }
        _ => {
            for (s, plane) in planes.chunks(pixels).enumerate() {
                let (sample, msb_first) = (s / bytes_per_sample, s % bytes_per_sample);
                let offset = sample * bytes_per_sample + (bytes_per_sample - 1 - msb_first);
                for (p, &b) in plane.iter().enumerate() {
                    out[p * n_segments + offset] = b;
                }
            }
        }
    }
    Ok(())
}

/// Byte range of segment `s` within the frame (validated against the header rules).
fn segment_range(
    frame: &[u8],
    word: &dyn Fn(usize) -> usize,
    s: usize,
    n_segments: usize,
) -> Result<(usize, usize), String> {
    let start = word(1 + s);
    let end = if s + 1 < n_segments {
        word(2 + s)
    } else {
        frame.len()
    };
    if start < 64 || start > end || end > frame.len() {
        return Err(format!(
            "RLE segment {s} spans bytes {start}..{end} of a {}-byte frame",
            frame.len()
        ));
    }
    Ok((start, end))
}

/// PackBits-decodes `src` into `dst[0], dst[stride], dst[2 * stride], ...`, at most `n`
/// bytes; returns the number written.
fn unpack_strided(src: &[u8], dst: &mut [u8], stride: usize, n: usize) -> usize {
    let (mut i, mut o) = (0usize, 0usize);
    while o < n && i < src.len() {
        let h = src[i] as i8;
        i += 1;
        if h >= 0 {
            let len = (h as usize + 1).min(n - o).min(src.len() - i);
            if stride == 1 {
                dst[o..o + len].copy_from_slice(&src[i..i + len]);
            } else {
                for (k, &b) in src[i..i + len].iter().enumerate() {
                    dst[(o + k) * stride] = b;
                }
            }
            i += h as usize + 1;
            o += len;
        } else if h != -128 {
            let len = ((1 - isize::from(h)) as usize).min(n - o);
            let Some(&b) = src.get(i) else { break };
            i += 1;
            if stride == 1 {
                dst[o..o + len].fill(b);
            } else {
                for k in 0..len {
                    dst[(o + k) * stride] = b;
                }
            }
            o += len;
        }
    }
    o
}

/// Encodes one frame of little-endian, pixel-interleaved samples as DICOM RLE.
///
/// # Panics
/// When `samples * bytes_per_sample` is not between 1 and 15 (the format's limit) or
/// `data` is shorter than the frame.
#[cfg(feature = "dicom-write")]
pub fn encode_frame(
    data: &[u8],
    pixels: usize,
    samples: usize,
    bytes_per_sample: usize,
) -> Vec<u8> {
    let n_segments = samples * bytes_per_sample;
    assert!(
        (1..=15).contains(&n_segments),
        "RLE allows 1 to 15 segments"
    );
    let mut out = vec![0u8; 64];
    out[0..4].copy_from_slice(&(n_segments as u32).to_le_bytes());
    let mut plane = vec![0u8; pixels];
    for s in 0..n_segments {
        let offset = out.len() as u32;
        out[4 + 4 * s..8 + 4 * s].copy_from_slice(&offset.to_le_bytes());
        let (sample, msb) = (s / bytes_per_sample, s % bytes_per_sample);
        let byte = sample * bytes_per_sample + (bytes_per_sample - 1 - msb);
        for (p, v) in plane.iter_mut().enumerate() {
            *v = data[p * n_segments + byte];
        }
        pack(&plane, &mut out);
        if out.len() % 2 == 1 {
            out.push(0);
        }
    }
    out
}

/// PackBits-encodes `src` (runs of 3+ equal bytes become repeats, the rest literals).
#[cfg(feature = "dicom-write")]
fn pack(src: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        let mut run = 1;
        while i + run < src.len() && run < 128 && src[i + run] == src[i] {
            run += 1;
        }
        if run >= 3 {
            out.push((1i16 - run as i16) as i8 as u8);
            out.push(src[i]);
            i += run;
            continue;
        }
        let start = i;
        while i < src.len() && i - start < 128 {
            let ahead = src.len() - i;
            if ahead >= 3 && src[i] == src[i + 1] && src[i] == src[i + 2] {
                break;
            }
            i += 1;
        }
        out.push((i - start - 1) as u8);
        out.extend_from_slice(&src[start..i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_literal_and_repeat_runs() {
        // Literal of 3 (header 2), then repeat 0xAA five times (header -4).
        let seg = [2u8, 1, 2, 3, 0xFC, 0xAA];
        let mut dst = [0u8; 8];
        assert_eq!(unpack_strided(&seg, &mut dst, 1, 8), 8);
        assert_eq!(dst, [1, 2, 3, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA]);
        // A no-op header (-128) is skipped.
        let mut dst = [0u8; 2];
        assert_eq!(unpack_strided(&[0x80, 1, 7, 8], &mut dst, 1, 2), 2);
        assert_eq!(dst, [7, 8]);
    }

    #[test]
    fn round_trip_16_bit_and_errors() {
        let pixels = 1000;
        let data: Vec<u8> = (0..pixels)
            .flat_map(|i| (((i / 7) * 13 % 4096) as u16).to_le_bytes())
            .collect();
        let enc = encode_frame(&data, pixels, 1, 2);
        assert!(enc.len() < data.len(), "runs should compress");
        let mut out = vec![0u8; data.len()];
        decode_frame(&enc, pixels, 1, 2, &mut out).unwrap();
        assert_eq!(out, data);
        let err = decode_frame(&enc, pixels, 1, 4, &mut vec![0u8; 4 * pixels]).unwrap_err();
        assert!(err.contains("2 segments, 4 expected"), "{err}");
        let err = decode_frame(&enc[..200], pixels, 1, 2, &mut out).unwrap_err();
        assert!(err.contains("segment"), "{err}");
        assert!(decode_frame(&[0u8; 10], 1, 1, 1, &mut [0u8; 1]).is_err());
    }
}
