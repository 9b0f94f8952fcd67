//! Parse + decode: any bytes, as a file, through every medfen-dicom reader. A panic, an
//! abort or an out-of-memory is a bug; errors are expected.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("medfen-fuzz-{}.dcm", std::process::id()));
    let Ok(mut f) = std::fs::File::create(&path) else { return };
    if f.write_all(data).is_err() {
        return;
    }
    drop(f);
    let _ = medfen_dicom::read_header(&path);
    if let Ok(img) = medfen_dicom::ImageFile::open(&path) {
        let _ = img.stored();
        let n = usize::from(img.header().rows) * usize::from(img.header().cols);
        let mut out = vec![0i16; n];
        for frame in 0..img.header().number_of_frames.min(4) as usize {
            let _ = img.frame_into(frame, &mut out);
        }
    }
});
