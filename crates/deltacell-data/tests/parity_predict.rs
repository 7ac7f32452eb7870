//! `predict::compile_tracking_inputs` against DeLTA 2.0.7's `predictCompilefromseg_track` (the
//! `predict_compile_track` case, produced with 2.0.7's two defects corrected).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use deltacell_data::predict::{compile_tracking_inputs, TrackInputOptions};
use deltacell_data::{io, Plane};
use ndarray::{Array2, Array4};
use ndarray_npy::NpzReader;

fn case_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/delta-2.0.7/predict_compile_track.npz")
}

/// `out_names` is a NumPy unicode array (`<U43`): UTF-32 little-endian, fixed width.
fn out_names() -> Vec<String> {
    let mut z = zip::ZipArchive::new(File::open(case_path()).unwrap()).unwrap();
    let mut bytes = Vec::new();
    z.by_name("out_names.npy")
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = String::from_utf8_lossy(&bytes[10..10 + header_len]).into_owned();
    let width: usize = header
        .split("'<U")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap()
        .parse()
        .unwrap();
    bytes[10 + header_len..]
        .chunks(width * 4)
        .map(|c| {
            c.chunks(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .filter(|&u| u != 0)
                .map(|u| char::from_u32(u).unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn predict_compile_track_case() {
    let mut z = NpzReader::new(File::open(case_path()).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (img_dir, seg_dir) = (tmp.path().join("img"), tmp.path().join("seg"));
    std::fs::create_dir_all(&img_dir).unwrap();
    std::fs::create_dir_all(&seg_dir).unwrap();
    for k in 0..3 {
        let name = format!("Position01_Chamber01_Frame{:03}.png", k + 1);
        let img: Array2<u16> = z.by_name(&format!("in_img_{k}")).unwrap();
        let seg: Array2<u8> = z.by_name(&format!("in_seg_{k}")).unwrap();
        let (h, w) = img.dim();
        io::write_png_u16(
            img_dir.join(&name),
            &Plane::from_vec(h, w, img.iter().copied().collect()).unwrap(),
        )
        .unwrap();
        io::write_png_u8(
            seg_dir.join(&name),
            &Plane::from_vec(h, w, seg.iter().copied().collect()).unwrap(),
        )
        .unwrap();
    }
    let want: Array4<f32> = z.by_name("out").unwrap();
    let (batch, samples) =
        compile_tracking_inputs(&img_dir, &seg_dir, None, &TrackInputOptions::default()).unwrap();
    assert_eq!(
        (batch.n, batch.height, batch.width, batch.in_channels),
        want.dim()
    );
    let names: Vec<String> = samples.iter().map(|s| s.name.clone()).collect();
    assert_eq!(names, out_names());
    let got = batch.x.as_slice();
    let mut worst = 0f32;
    for (g, w) in got.iter().zip(want.iter()) {
        worst = worst.max((g - w).abs());
    }
    assert!(worst <= 1e-5, "max abs difference {worst}");
}
