//! Reading real microscopy files: the Omnipose test and documentation images in
//! `../shared/data/omnipose` (8-bit gray/RGB/RGBA PNG, RGBA TIFF, 16-bit TIFF, uint8 label masks).
//!
//! Colour files are checked against an independent decode by the `image` crate: deltacell keeps
//! the first (red) channel, as DeLTA does.

use std::path::{Path, PathBuf};

use deltacell_data::io::{self, RawPixels, Rescale};
use deltacell_data::Error;

fn omnipose() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/omnipose");
    assert!(
        dir.is_dir(),
        "{} is missing: the repository must sit next to shared/",
        dir.display()
    );
    dir
}

/// The first channel of any file, decoded by the `image` crate (an independent decoder).
fn first_channel_by_image_crate(path: &Path) -> Vec<u8> {
    let img = image::open(path)
        .expect("image crate decodes it")
        .to_rgba8();
    img.pixels().map(|p| p.0[0]).collect()
}

fn as_u8(raw: RawPixels) -> deltacell_data::Plane<u8> {
    match raw {
        RawPixels::U8(p) => p,
        other => panic!("expected 8-bit, got {}-bit", other.bit_depth()),
    }
}

#[test]
fn colour_and_gray_pngs_keep_the_first_channel() {
    let dir = omnipose().join("test_files");
    // (file, (height, width)) as listed by the data set's README.
    for (name, shape) in [
        ("Sample000033.png", (287, 377)), // RGBA
        ("Sample000193.png", (564, 564)), // RGB
        ("Sample000252.png", (783, 908)), // gray
    ] {
        let path = dir.join(name);
        let raw = io::read_raw(&path).unwrap();
        assert_eq!(raw.shape(), shape, "{name}");
        let plane = as_u8(raw);
        assert_eq!(
            plane.as_slice(),
            first_channel_by_image_crate(&path),
            "{name}"
        );
        let (lo, hi) = (
            *plane.as_slice().iter().min().unwrap(),
            *plane.as_slice().iter().max().unwrap(),
        );
        // Sample000033's red channel is dim (4..22): still not constant.
        assert!(hi > lo, "{name}: constant image {lo}..{hi}");

        let img = io::read_image(&path, Rescale::DtypeMax).unwrap();
        assert_eq!(img.shape(), shape);
        assert_eq!(
            img.min_max(),
            (f32::from(lo) / 255.0, f32::from(hi) / 255.0)
        );
        let mm = io::read_image(&path, Rescale::MinMax).unwrap();
        assert_eq!(mm.min_max(), (0.0, 1.0));
    }
}

#[test]
fn rgba_tiff_keeps_the_first_channel() {
    let path = omnipose().join("test_files/Sample000306.tiff");
    let plane = as_u8(io::read_raw(&path).unwrap());
    assert_eq!(plane.shape(), (396, 390));
    assert_eq!(plane.as_slice(), first_channel_by_image_crate(&path));
}

#[test]
fn sixteen_bit_tiffs_are_read_at_full_depth() {
    let dir = omnipose().join("test_files");
    for (name, shape) in [
        ("caulo_15.tif", (281, 310)),
        ("e1t1_crop.tif", (384, 392)),
        ("ec_5I_t141xy5c1.tif", (334, 321)),
    ] {
        let path = dir.join(name);
        let RawPixels::U16(p) = io::read_raw(&path).unwrap() else {
            panic!("{name}: expected 16-bit");
        };
        assert_eq!(p.shape(), shape, "{name}");
        let hi = *p.as_slice().iter().max().unwrap();
        let lo = *p.as_slice().iter().min().unwrap();
        // Really 16-bit data, not 8-bit values in a 16-bit container.
        assert!(hi > 255 && hi > lo, "{name}: {lo}..{hi}");
        let img = io::read_image(&path, Rescale::DtypeMax).unwrap();
        assert_eq!(img.get(0, 0), f32::from(p.get(0, 0)) / 65535.0);
        assert!(img.as_slice().iter().all(|v| (0.0..=1.0).contains(v)));
        // A single-page file is a movie of one frame.
        assert_eq!(io::read_stack(&path, Rescale::DtypeMax).unwrap().len(), 1);
    }
}

#[test]
fn uint8_label_masks_have_many_cells() {
    let dir = omnipose().join("test_files");
    // (mask stem, its image, distinct values including background 0)
    for (stem, image_name, n_values) in [
        ("Sample000033", "Sample000033.png", 117),
        ("Sample000193", "Sample000193.png", 183),
        ("Sample000252", "Sample000252.png", 78),
        ("Sample000306", "Sample000306.tiff", 4),
        ("caulo_15", "caulo_15.tif", 22),
        ("e1t1_crop", "e1t1_crop.tif", 64),
        ("ec_5I_t141xy5c1", "ec_5I_t141xy5c1.tif", 160),
    ] {
        let path = dir.join(format!("masks/{stem}_cp_masks.tif"));
        let raw = io::read_raw(&path).unwrap();
        assert_eq!(raw.bit_depth(), 8, "{stem}");
        let image_shape = io::read_raw(dir.join(image_name)).unwrap().shape();
        assert_eq!(
            raw.shape(),
            image_shape,
            "{stem}: mask and image differ in size"
        );

        let labels = io::read_labels(&path).unwrap();
        let mut distinct: Vec<u32> = labels.as_slice().to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct[0], 0, "{stem}: background is 0");
        assert_eq!(distinct.len(), n_values, "{stem}");
        assert!(labels.max_label() <= 255);

        // The lenient mask reader turns labels into cells; the strict one refuses them.
        let mask = io::read_mask(&path).unwrap();
        let cells = labels.as_slice().iter().filter(|&&v| v != 0).count();
        assert_eq!(mask.count(), cells, "{stem}");
        assert!(cells > 0 && cells < mask.len(), "{stem}");
        assert_eq!(labels.to_mask(), mask);
        match io::read_binary_mask(&path) {
            Err(Error::NotBinary { distinct: d, .. }) => assert_eq!(d, distinct.len()),
            other => panic!("{stem}: expected NotBinary, got {other:?}"),
        }
    }
}

#[test]
fn small_docs_crops_and_their_labels() {
    let dir = omnipose().join("docs_static");
    let phase = io::read_image(dir.join("ecoli_phase.tif"), Rescale::DtypeMax).unwrap();
    assert_eq!(phase.shape(), (65, 65));
    let labels = io::read_labels(dir.join("ecoli_phase_labels.tif")).unwrap();
    assert_eq!(labels.shape(), (65, 65));
    let mut distinct: Vec<u32> = labels.as_slice().to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    // Background and three cells, as the data set's README says.
    assert_eq!(distinct.len(), 4, "{distinct:?}");
    // The RGBA rendering of the ground truth reads too (first channel).
    let path = dir.join("ecoli_phase_GT.png");
    let plane = as_u8(io::read_raw(&path).unwrap());
    assert_eq!(plane.shape(), (65, 65));
    assert_eq!(plane.as_slice(), first_channel_by_image_crate(&path));
}

#[test]
fn every_omnipose_image_file_reads() {
    // Nothing in the folder is refused: every .png/.tif/.tiff decodes to a non-empty raster.
    let mut n = 0;
    for sub in ["test_files", "test_files/masks", "docs_static"] {
        for entry in std::fs::read_dir(omnipose().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if !io::is_image_path(&path) {
                continue;
            }
            let raw = io::read_raw(&path).unwrap_or_else(|e| panic!("{e}"));
            let (h, w) = raw.shape();
            assert!(h > 0 && w > 0, "{}", path.display());
            n += 1;
        }
    }
    assert_eq!(n, 22);
}
