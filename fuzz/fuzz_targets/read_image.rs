//! Arbitrary bytes as a PNG or a TIFF file (the first byte picks the extension): every reader
//! must return a value or an error naming the file, never panic or abort.
#![no_main]

use std::sync::OnceLock;

use deltacell_data::io;
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = if pick % 2 == 0 { "x.png" } else { "x.tif" };
    let path = dir().path().join(name);
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    for result in [
        io::read_raw(&path).map(|_| ()),
        io::read_binary_mask(&path).map(|_| ()),
        io::read_labels(&path).map(|_| ()),
        io::read_weights(&path).map(|_| ()),
        io::read_stack(&path, io::Rescale::DtypeMax).map(|_| ()),
    ] {
        if let Err(e) = result {
            assert!(e.to_string().contains(name), "error without the file name: {e}");
        }
    }
});
