//! A cheap structural pass before dicom-rs parses a file: every declared element
//! length must fit in the bytes that remain.
//!
//! dicom-rs allocates (and zero-fills) the length an element declares before reading
//! it, so one corrupted length field can make it reserve up to 4 GB for a 500 kB file,
//! which in a parallel scan of an archive multiplies. This walk reads only element
//! headers (seeking over values), so it costs a few microseconds, and it turns such a
//! file into an error naming the offending tag. Deflated data sets are not walked.

use std::io::{self, Read, Seek, SeekFrom};

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const MAX_DEPTH: usize = 64;

/// Encoding of the data set after the file meta group.
#[derive(Clone, Copy)]
struct Enc {
    explicit: bool,
    big: bool,
}

impl Enc {
    fn u16(self, b: [u8; 2]) -> u16 {
        if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    fn u32(self, b: [u8; 4]) -> u32 {
        if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }
}

/// An element header: tag, VR (`"  "` when implicit or an item) and declared length.
struct Head {
    tag: (u16, u16),
    vr: [u8; 2],
    len: u32,
}

/// Walks the file from the start of the file meta group (byte 132). With `stop_at_pixels`
/// the walk ends at the PixelData element (after checking its length).
///
/// # Errors
/// A description of the first element whose declared length does not fit, or of a
/// structure that cannot be walked.
pub(crate) fn check_lengths<R: Read + Seek>(
    r: &mut R,
    file_len: u64,
    stop_at_pixels: bool,
) -> Result<Layout, String> {
    let mut w = Walker {
        r,
        end: file_len,
        pos: 132,
        pixel_data: None,
    };
    w.r.seek(SeekFrom::Start(132)).map_err(|e| e.to_string())?;
    // File meta group: always explicit VR little endian.
    let meta = Enc {
        explicit: true,
        big: false,
    };
    let mut ts = String::new();
    loop {
        if w.pos + 4 > w.end {
            return Ok(Layout::default());
        }
        let group = w.peek_group(meta)?;
        if group != 0x0002 {
            break;
        }
        let Head { tag, len, .. } = w.header(meta)?;
        if len == UNDEFINED {
            return Err(format!(
                "file meta element ({:04X},{:04X}) has an undefined length",
                tag.0, tag.1
            ));
        }
        w.fits(tag, len)?;
        if tag == (0x0002, 0x0010) {
            if len > 64 {
                return Err(format!("TransferSyntaxUID of {len} bytes (at most 64)"));
            }
            let mut buf = vec![0u8; len as usize];
            w.read(&mut buf)?;
            String::from_utf8_lossy(&buf)
                .trim_end_matches(['\0', ' '])
                .clone_into(&mut ts);
        } else {
            w.seek_over(len)?;
        }
    }
    let enc = match ts.as_str() {
        // Deflated: lengths are inside the compressed stream.
        "1.2.840.10008.1.2.1.99" => {
            return Ok(Layout {
                pixel_data: None,
                transfer_syntax: ts,
            });
        }
        "1.2.840.10008.1.2" => Enc {
            explicit: false,
            big: false,
        },
        "1.2.840.10008.1.2.2" => Enc {
            explicit: true,
            big: true,
        },
        _ => Enc {
            explicit: true,
            big: false,
        },
    };
    if !ts.is_empty() && w.pos + 6 <= w.end {
        let mut first = [0u8; 6];
        w.r.seek(SeekFrom::Start(w.pos))
            .map_err(|e| e.to_string())?;
        w.r.read_exact(&mut first).map_err(|e| e.to_string())?;
        w.r.seek(SeekFrom::Start(w.pos))
            .map_err(|e| e.to_string())?;
        let vr = [first[4], first[5]];
        let looks_explicit = vr.iter().all(u8::is_ascii_uppercase) && KNOWN_VRS.contains(&&vr);
        if enc.explicit != looks_explicit {
            return Err(format!(
                "{MISLABELED}: the data set is encoded in {} VR, but transfer syntax {ts} declares {} VR",
                if looks_explicit {
                    "explicit"
                } else {
                    "implicit"
                },
                if enc.explicit { "explicit" } else { "implicit" },
            ));
        }
    }
    let end = w.end;
    w.dataset(enc, end, false, 0, stop_at_pixels)?;
    Ok(Layout {
        pixel_data: w.pixel_data,
        transfer_syntax: ts,
    })
}

/// The start of the message for files whose data set encoding contradicts their
/// transfer syntax (pydicom guesses the encoding with a warning; medfen refuses).
pub(crate) const MISLABELED: &str = "mislabeled file";

/// Every value representation of PS3.5 6.2.
const KNOWN_VRS: [&[u8; 2]; 34] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
    b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
    b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
];

/// The error for a failed pre-check of `path`.
pub(crate) fn error(path: &std::path::Path, reason: String) -> crate::Error {
    match reason.strip_prefix(MISLABELED) {
        Some(rest) => crate::Error::MislabeledEncoding {
            path: path.to_path_buf(),
            reason: rest.trim_start_matches(": ").to_owned(),
        },
        None => crate::Error::Parse {
            path: path.to_path_buf(),
            reason,
        },
    }
}

struct Walker<'a, R> {
    r: &'a mut R,
    end: u64,
    pos: u64,
    pixel_data: Option<(u64, u32)>,
}

/// Where the walk found things.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Layout {
    /// Offset and declared length of the top-level PixelData value (the length is
    /// `0xFFFF_FFFF` for encapsulated data).
    pub pixel_data: Option<(u64, u32)>,
    /// Transfer syntax UID from the file meta group.
    pub transfer_syntax: String,
}

impl<R: Read + Seek> Walker<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> Result<(), String> {
        self.r.read_exact(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => {
                format!("file ends inside an element header at byte {}", self.pos)
            }
            _ => e.to_string(),
        })?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn peek_group(&mut self, enc: Enc) -> Result<u16, String> {
        let mut b = [0u8; 2];
        self.r.read_exact(&mut b).map_err(|e| e.to_string())?;
        self.r
            .seek(SeekFrom::Current(-2))
            .map_err(|e| e.to_string())?;
        Ok(enc.u16(b))
    }

    /// Reads an element header: (tag, VR or `b"  "` when implicit / item, length).
    fn header(&mut self, enc: Enc) -> Result<Head, String> {
        let mut t = [0u8; 4];
        self.read(&mut t)?;
        let tag = (enc.u16([t[0], t[1]]), enc.u16([t[2], t[3]]));
        if tag.0 == 0xFFFE || !enc.explicit {
            let mut l = [0u8; 4];
            self.read(&mut l)?;
            return Ok(Head {
                tag,
                vr: *b"  ",
                len: enc.u32(l),
            });
        }
        let mut vr = [0u8; 2];
        self.read(&mut vr)?;
        // The VRs with a 2-byte length; every other (and any unknown) VR has 2 reserved
        // bytes and a 4-byte length (PS3.5 7.1.2), which is also how dicom-rs reads it.
        let short = matches!(
            &vr,
            b"AE"
                | b"AS"
                | b"AT"
                | b"CS"
                | b"DA"
                | b"DS"
                | b"DT"
                | b"FL"
                | b"FD"
                | b"IS"
                | b"LO"
                | b"LT"
                | b"PN"
                | b"SH"
                | b"SL"
                | b"SS"
                | b"ST"
                | b"TM"
                | b"UI"
                | b"UL"
                | b"US"
        );
        if short {
            let mut l = [0u8; 2];
            self.read(&mut l)?;
            Ok(Head {
                tag,
                vr,
                len: u32::from(enc.u16(l)),
            })
        } else {
            let mut l = [0u8; 6];
            self.read(&mut l)?;
            Ok(Head {
                tag,
                vr,
                len: enc.u32([l[2], l[3], l[4], l[5]]),
            })
        }
    }

    fn fits(&self, tag: (u16, u16), len: u32) -> Result<(), String> {
        if len != UNDEFINED && self.pos + u64::from(len) > self.end {
            return Err(format!(
                "element ({:04X},{:04X}) declares {len} bytes but only {} remain in the file",
                tag.0,
                tag.1,
                self.end.saturating_sub(self.pos)
            ));
        }
        Ok(())
    }

    fn seek_over(&mut self, len: u32) -> Result<(), String> {
        self.r
            .seek(SeekFrom::Current(i64::from(len)))
            .map_err(|e| e.to_string())?;
        self.pos += u64::from(len);
        Ok(())
    }

    /// Walks a data set (top level, or the contents of an item) until `bound` (the end
    /// of a defined-length item, or of the file), or an item delimiter in an
    /// undefined-length item. Mirrors dicom-parser: only (7FE0,0010) with undefined length
    /// is encapsulated pixel data; every other undefined-length element, and every SQ, is
    /// a sequence whose items are data sets.
    fn dataset(
        &mut self,
        enc: Enc,
        bound: u64,
        in_undefined_item: bool,
        depth: usize,
        stop_at_pixels: bool,
    ) -> Result<(), String> {
        loop {
            if self.pos >= bound {
                return if in_undefined_item {
                    Err("file ends inside a sequence item".into())
                } else {
                    Ok(())
                };
            }
            if depth == 0 && bound - self.pos < 8 {
                // Trailing padding shorter than an element header.
                return Ok(());
            }
            let Head { tag, vr, len } = self.header(enc)?;
            if tag == (0xFFFE, 0xE00D) {
                if depth == 0 {
                    continue; // dicom-rs ignores a stray item delimiter
                }
                return Ok(());
            }
            self.fits(tag, len)?;
            if depth == 0 && tag == (0x7FE0, 0x0010) {
                self.pixel_data = Some((self.pos, len));
                if stop_at_pixels {
                    return Ok(());
                }
            }
            if len == UNDEFINED {
                if tag == (0x7FE0, 0x0010) {
                    self.fragments()?;
                } else {
                    self.sequence(enc, None, depth + 1)?;
                }
            } else if is_sequence(tag, vr, enc) {
                let end = self.pos + u64::from(len);
                self.sequence(enc, Some(end), depth + 1)?;
                if self.pos != end {
                    return Err(format!(
                        "sequence ({:04X},{:04X}) does not end at its declared length",
                        tag.0, tag.1
                    ));
                }
            } else {
                self.seek_over(len)?;
            }
        }
    }

    /// The items of a sequence, up to `end` (defined length) or (FFFE,E0DD).
    fn sequence(&mut self, enc: Enc, end: Option<u64>, depth: usize) -> Result<(), String> {
        if depth >= MAX_DEPTH {
            return Err(format!("sequences nested deeper than {MAX_DEPTH} levels"));
        }
        loop {
            if end.is_some_and(|e| self.pos >= e) {
                return Ok(());
            }
            let Head { tag, len, .. } = self.header(enc)?;
            match tag {
                (0xFFFE, 0xE0DD) => return Ok(()),
                (0xFFFE, 0xE000) => {
                    self.fits(tag, len)?;
                    if len == UNDEFINED {
                        self.dataset(enc, end.unwrap_or(self.end), true, depth, false)?;
                    } else {
                        let item_end = self.pos + u64::from(len);
                        self.dataset(enc, item_end, false, depth, false)?;
                        if self.pos != item_end {
                            return Err(format!(
                                "an item does not end at its declared length (byte {})",
                                self.pos
                            ));
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "({:04X},{:04X}) where a sequence item was expected",
                        other.0, other.1
                    ));
                }
            }
        }
    }

    /// Encapsulated pixel data: fragment items of defined length until (FFFE,E0DD).
    fn fragments(&mut self) -> Result<(), String> {
        let enc = Enc {
            explicit: false,
            big: false,
        };
        loop {
            let Head { tag, len, .. } = self.header(enc)?;
            match tag {
                (0xFFFE, 0xE0DD) => return Ok(()),
                (0xFFFE, 0xE000) if len != UNDEFINED => {
                    self.fits(tag, len)?;
                    self.seek_over(len)?;
                }
                other => {
                    return Err(format!(
                        "({:04X},{:04X}) where a pixel data fragment was expected",
                        other.0, other.1
                    ));
                }
            }
        }
    }
}

/// True when the element is a sequence: its explicit VR says so, or (implicit VR) the
/// standard dictionary does.
fn is_sequence(tag: (u16, u16), vr: [u8; 2], enc: Enc) -> bool {
    if enc.explicit && &vr != b"  " {
        return &vr == b"SQ";
    }
    StandardDataDictionary
        .by_tag(Tag(tag.0, tag.1))
        .is_some_and(|e| e.vr() == VirtualVr::Exact(VR::SQ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn file(elements: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 128];
        f.extend_from_slice(b"DICM");
        // (0002,0010) UI 20 "1.2.840.10008.1.2.1\0"
        f.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I', 20, 0]);
        f.extend_from_slice(b"1.2.840.10008.1.2.1\0");
        f.extend_from_slice(elements);
        f
    }

    #[test]
    fn lengths_inside_items_of_any_undefined_length_element_are_checked() {
        // Found by fuzzing: (7FE0,1010) OB with undefined length is a sequence to
        // dicom-rs (only (7FE0,0010) holds fragments), so its item is a data set whose
        // element declares ~4 GB.
        let mut e = vec![
            0xE0, 0x7F, 0x10, 0x10, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        e.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 16, 0, 0, 0]); // item of 16 bytes
        e.extend_from_slice(&[
            0x09, 0x00, 0x10, 0x10, b'O', b'B', 0, 0, 0xBF, 0x00, 0xFE, 0xFF, 1, 2, 3, 4,
        ]);
        e.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let f = file(&e);
        let err = check_lengths(&mut Cursor::new(&f), f.len() as u64, false).unwrap_err();
        assert!(
            err.starts_with("element (0009,1010) declares 4294836415 bytes"),
            "{err}"
        );
    }

    #[test]
    fn meta_elements_with_undefined_or_oversized_lengths_are_refused() {
        let mut f = vec![0u8; 128];
        f.extend_from_slice(b"DICM");
        let mut g = f.clone();
        // A corrupted VR reads as UN: 2 reserved bytes and a 4-byte (undefined) length.
        f.extend_from_slice(&[
            0x02, 0x00, 0x10, 0x00, b'U', b'N', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        f.extend_from_slice(&[b'1'; 40]);
        let err = check_lengths(&mut Cursor::new(&f), f.len() as u64, false).unwrap_err();
        assert!(err.contains("undefined length"), "{err}");
        g.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'N', 0, 0, 80, 0, 0, 0]);
        g.extend_from_slice(&[b'1'; 80]);
        let err = check_lengths(&mut Cursor::new(&g), g.len() as u64, false).unwrap_err();
        assert!(err.contains("TransferSyntaxUID of 80 bytes"), "{err}");
    }

    #[test]
    fn lengths_past_the_end_are_named() {
        // (0028,0010) US 2 -> fine; (0008,0020) DA 200 -> past the end.
        let ok = file(&[0x28, 0x00, 0x10, 0x00, b'U', b'S', 2, 0, 64, 0]);
        assert!(check_lengths(&mut Cursor::new(&ok), ok.len() as u64, false).is_ok());
        let bad = file(&[0x08, 0x00, 0x20, 0x00, b'D', b'A', 200, 0, b'2', b'0']);
        let err = check_lengths(&mut Cursor::new(&bad), bad.len() as u64, false).unwrap_err();
        assert_eq!(
            err,
            "element (0008,0020) declares 200 bytes but only 2 remain in the file"
        );
    }

    #[test]
    fn undefined_length_sequences_and_fragments_are_walked() {
        let mut e = vec![
            0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        e.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]); // item, undefined
        e.extend_from_slice(&[0x08, 0x00, 0x50, 0x11, b'U', b'I', 2, 0, b'1', 0]);
        e.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]); // item delimiter
        e.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]); // sequence delimiter
        e.extend_from_slice(&[
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        e.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]); // empty offset table
        e.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0, 1, 2, 3, 4]);
        e.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let f = file(&e);
        assert!(check_lengths(&mut Cursor::new(&f), f.len() as u64, false).is_ok());
        // A fragment claiming more than remains.
        let mut g = f.clone();
        let at = g.len() - 8 - 12 + 4;
        g[at..at + 4].copy_from_slice(&4000u32.to_le_bytes());
        let err = check_lengths(&mut Cursor::new(&g), g.len() as u64, false).unwrap_err();
        assert!(err.contains("(FFFE,E000) declares 4000 bytes"), "{err}");
    }
}
