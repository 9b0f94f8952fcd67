//! Decodes every file of a folder once (for profiling): `decode_dir DIR`.
fn main() {
    let dir = std::env::args().nth(1).expect("usage: decode_dir DIR");
    let files = medfen_dicom::list_files(
        std::path::Path::new(&dir),
        &medfen_dicom::ScanOptions::default(),
    )
    .unwrap();
    let mut out = vec![0i16; 512 * 512];
    for f in files {
        let img = medfen_dicom::ImageFile::open(&f).unwrap();
        img.frame_into(0, &mut out).unwrap();
    }
}
