//! A JPEG Lossless encoder (ITU T.81 process 14, first-order prediction: selection value
//! 1, point transform 0), the encoding of DICOM transfer syntax 1.2.840.10008.1.2.4.70
//! and the usual compression of CT archives.
//!
//! One grayscale component, one scan, one Huffman table optimised for the frame
//! (Annex K.2), byte stuffing, no restart intervals. Decoders in the ecosystem
//! (jpeg-decoder, libjpeg, GDCM) read the result; medfen's tests decode it back.

/// Encodes `values` (row-major, `rows x cols`) with sample precision `precision`
/// (2..=16 bits; every value must lie in `0..2^precision`).
pub(crate) fn encode(values: &[u16], rows: u16, cols: u16, precision: u8) -> Vec<u8> {
    debug_assert!((2..=16).contains(&precision));
    debug_assert_eq!(values.len(), usize::from(rows) * usize::from(cols));
    let diffs = differences(values, usize::from(cols), precision);
    let mut freq = [0u64; 17];
    for &d in &diffs {
        freq[category(d) as usize] += 1;
    }
    let table = HuffmanTable::optimal(&freq);

    let mut out = Vec::with_capacity(values.len() + 1024);
    out.extend_from_slice(&[0xFF, 0xD8]); // SOI
    // SOF3: lossless, Huffman.
    out.extend_from_slice(&[0xFF, 0xC3, 0x00, 0x0B, precision]);
    out.extend_from_slice(&rows.to_be_bytes());
    out.extend_from_slice(&cols.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
    // DHT: class 0 (DC/lossless), table 0.
    let n_values: usize = table.bits.iter().map(|&b| usize::from(b)).sum();
    let length = 2 + 1 + 16 + n_values;
    out.extend_from_slice(&[0xFF, 0xC4]);
    out.extend_from_slice(&(length as u16).to_be_bytes());
    out.push(0x00);
    out.extend_from_slice(&table.bits);
    out.extend_from_slice(&table.values);
    // SOS: one component, table 0, Ss = 1 (predictor Ra), Se = 0, Ah/Al = 0.
    out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00]);
    let mut bits = BitWriter::new(&mut out);
    for &d in &diffs {
        let ssss = category(d);
        let (code, len) = table.codes[ssss as usize];
        bits.put(u32::from(code), len);
        if ssss > 0 && ssss < 16 {
            let extra = if d < 0 { d - 1 } else { d };
            bits.put((extra as u32) & ((1u32 << ssss) - 1), ssss);
        }
    }
    bits.flush();
    out.extend_from_slice(&[0xFF, 0xD9]); // EOI
    out
}

/// Prediction differences, modulo 2^16, as signed values in -32767..=32768.
fn differences(values: &[u16], cols: usize, precision: u8) -> Vec<i32> {
    let mut diffs = Vec::with_capacity(values.len());
    let first = 1i32 << (precision - 1);
    for (r, row) in values.chunks_exact(cols).enumerate() {
        for (c, &x) in row.iter().enumerate() {
            let pred = match (r, c) {
                (0, 0) => first,
                (_, 0) => i32::from(values[(r - 1) * cols]),
                _ => i32::from(row[c - 1]),
            };
            let mut d = (i32::from(x) - pred).rem_euclid(1 << 16);
            if d > 32768 {
                d -= 1 << 16;
            }
            diffs.push(d);
        }
    }
    diffs
}

/// The magnitude category SSSS of a difference (16 for 32768, which has no extra bits).
fn category(d: i32) -> u8 {
    (32 - d.unsigned_abs().leading_zeros()) as u8
}

/// A Huffman table for the 17 difference categories.
struct HuffmanTable {
    /// Number of codes of each length 1..=16.
    bits: [u8; 16],
    /// Symbols in order of increasing code length.
    values: Vec<u8>,
    /// (code, length) per category.
    codes: [(u16, u8); 17],
}

impl HuffmanTable {
    /// The optimal length-limited table for the frequencies (T.81 Annex K.2), with one
    /// reserved code point so no code is all ones.
    fn optimal(freq: &[u64; 17]) -> Self {
        // Annex K.2, figure K.1: code sizes by repeated merging of the two rarest.
        let mut f: Vec<u64> = freq.to_vec();
        f.push(1); // reserved symbol 17
        let n = f.len();
        let mut codesize = vec![0usize; n];
        let mut others: Vec<Option<usize>> = vec![None; n];
        loop {
            let mut v1: Option<usize> = None;
            for i in 0..n {
                if f[i] > 0 && v1.is_none_or(|v| f[i] <= f[v]) {
                    v1 = Some(i);
                }
            }
            let mut v2: Option<usize> = None;
            for i in 0..n {
                if f[i] > 0 && Some(i) != v1 && v2.is_none_or(|v| f[i] <= f[v]) {
                    v2 = Some(i);
                }
            }
            let (Some(v1), Some(v2)) = (v1, v2) else {
                break;
            };
            f[v1] += f[v2];
            f[v2] = 0;
            let mut i = v1;
            codesize[i] += 1;
            while let Some(o) = others[i] {
                i = o;
                codesize[i] += 1;
            }
            others[i] = Some(v2);
            let mut i = v2;
            codesize[i] += 1;
            while let Some(o) = others[i] {
                i = o;
                codesize[i] += 1;
            }
        }
        // Figure K.2: count codes per size; K.3: limit to 16 bits.
        let mut count = [0u32; 33];
        for &s in &codesize {
            if s > 0 {
                count[s.min(32)] += 1;
            }
        }
        let mut i = 32;
        while i > 16 {
            while count[i] > 0 {
                let mut j = i - 2;
                while count[j] == 0 {
                    j -= 1;
                }
                count[i] -= 2;
                count[i - 1] += 1;
                count[j + 1] += 2;
                count[j] -= 1;
            }
            i -= 1;
        }
        // Remove the reserved code point (the longest code).
        let mut i = 16;
        while count[i] == 0 {
            i -= 1;
        }
        count[i] -= 1;
        let mut bits = [0u8; 16];
        for (b, c) in bits.iter_mut().zip(&count[1..=16]) {
            *b = *c as u8;
        }
        // Figure K.4: symbols sorted by code size (ties by symbol), reserved one dropped.
        let mut values = Vec::new();
        for size in 1..=32 {
            for (sym, &s) in codesize.iter().enumerate().take(17) {
                if s == size {
                    values.push(sym as u8);
                }
            }
        }
        values.truncate(bits.iter().map(|&b| usize::from(b)).sum());
        // Canonical codes (Annex C).
        let mut codes = [(0u16, 0u8); 17];
        let mut code = 0u16;
        let mut k = 0;
        for (len, &n_len) in bits.iter().enumerate() {
            for _ in 0..n_len {
                codes[values[k] as usize] = (code, len as u8 + 1);
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        Self {
            bits,
            values,
            codes,
        }
    }
}

/// Writes bits most significant first, stuffing a 0x00 after every 0xFF byte.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out, acc: 0, n: 0 }
    }

    fn put(&mut self, value: u32, len: u8) {
        if len == 0 {
            return;
        }
        self.acc = (self.acc << len) | u64::from(value);
        self.n += u32::from(len);
        while self.n >= 8 {
            self.n -= 8;
            let byte = (self.acc >> self.n) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0x00);
            }
        }
        self.acc &= (1u64 << self.n) - 1;
    }

    /// Pads the last byte with one bits.
    fn flush(&mut self) {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put((1u32 << pad) - 1, pad as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{HuffmanTable, category, differences, encode};

    #[test]
    fn categories_follow_t81() {
        assert_eq!(category(0), 0);
        assert_eq!(category(1), 1);
        assert_eq!(category(-1), 1);
        assert_eq!(category(-3), 2);
        assert_eq!(category(255), 8);
        assert_eq!(category(32767), 15);
        assert_eq!(category(32768), 16);
    }

    #[test]
    fn differences_use_left_then_above_and_wrap() {
        let v = [10u16, 12, 65535, 0];
        let d = differences(&v, 2, 16);
        assert_eq!(d, vec![10 - 32768, 2, 65535 - 10 - 65536, -65535 + 65536]);
    }

    #[test]
    fn huffman_codes_are_prefix_free_and_never_all_ones() {
        let mut freq = [0u64; 17];
        for (i, f) in freq.iter_mut().enumerate() {
            *f = 1 << (16 - i.min(16)); // very skewed: forces length limiting
        }
        let t = HuffmanTable::optimal(&freq);
        let codes: Vec<(u16, u8)> = t.codes.iter().copied().filter(|c| c.1 > 0).collect();
        assert_eq!(codes.len(), 17);
        for (i, a) in codes.iter().enumerate() {
            assert!(a.1 <= 16);
            assert_ne!(u32::from(a.0), (1u32 << a.1) - 1, "all-ones code");
            for b in &codes[i + 1..] {
                let (short, long) = if a.1 <= b.1 { (a, b) } else { (b, a) };
                assert_ne!(long.0 >> (long.1 - short.1), short.0, "prefix");
            }
        }
    }

    #[test]
    fn a_frame_decodes_back_with_jpeg_decoder() {
        let (rows, cols) = (37u16, 53u16);
        let values: Vec<u16> = (0..usize::from(rows) * usize::from(cols))
            .map(|i| ((i * 7919) % 4096) as u16)
            .collect();
        let bytes = encode(&values, rows, cols, 12);
        let mut dec = jpeg_decoder::Decoder::new(&bytes[..]);
        let pixels = dec.decode().expect("decodes");
        let info = dec.info().unwrap();
        assert_eq!((info.width, info.height), (cols, rows));
        // jpeg-decoder returns 16-bit samples as little-endian bytes
        let back: Vec<u16> = pixels
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(back.len(), values.len());
        let first = back.iter().zip(&values).position(|(a, b)| a != b);
        assert_eq!(first, None, "first difference");
    }
}
