//! Parity with DeLTA 2.0.7: `histogram_voodoo` and `illumination_voodoo` on the reference case
//! whose random control points are stored (`voodoo.npz`), to 1e-6.

use std::fs::File;
use std::path::{Path, PathBuf};

use deltacell_data::augment::intensity::{
    histogram_voodoo_with_points, illumination_voodoo_with_points,
};
use deltacell_data::image::{Image, Plane};
use ndarray::{Array1, Array2};
use ndarray_npy::NpzReader;

fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/delta-2.0.7")
        .join(name)
}

struct Voodoo {
    image: Array2<f64>,
    hist_points: Array1<f64>,
    illum_points: Array1<f64>,
    out_hist: Array2<f64>,
    out_illum: Array2<f64>,
}

fn load() -> Voodoo {
    let mut npz = NpzReader::new(File::open(reference("voodoo.npz")).expect("voodoo.npz")).unwrap();
    Voodoo {
        image: npz.by_name("in_image").unwrap(),
        hist_points: npz.by_name("in_hist_random_points").unwrap(),
        illum_points: npz.by_name("in_illum_random_points").unwrap(),
        out_hist: npz.by_name("out_hist").unwrap(),
        out_illum: npz.by_name("out_illum").unwrap(),
    }
}

fn to_image(a: &Array2<f64>) -> Image {
    let (h, w) = a.dim();
    assert!(
        a.iter().all(|v| (0.0..=1.0).contains(v)),
        "reference input outside [0, 1]"
    );
    Image::from_plane(Plane::from_fn(h, w, |r, c| a[[r, c]] as f32))
}

fn max_abs_diff(img: &Image, expected: &Array2<f64>) -> f64 {
    let (h, w) = expected.dim();
    assert_eq!(img.shape(), (h, w));
    let mut worst = 0f64;
    for r in 0..h {
        for c in 0..w {
            worst = worst.max((img.get(r, c) as f64 - expected[[r, c]]).abs());
        }
    }
    worst
}

#[test]
fn histogram_voodoo_matches_delta() {
    let v = load();
    let mut img = to_image(&v.image);
    histogram_voodoo_with_points(&mut img, v.hist_points.as_slice().unwrap());
    let d = max_abs_diff(&img, &v.out_hist);
    assert!(d < 1e-6, "max |diff| = {d}");
    // The curve really changes the image (the test would catch an identity).
    assert!(max_abs_diff(&to_image(&v.image), &v.out_hist) > 1e-3);
}

#[test]
fn illumination_voodoo_matches_delta() {
    let v = load();
    let mut img = to_image(&v.image);
    illumination_voodoo_with_points(&mut img, v.illum_points.as_slice().unwrap());
    let d = max_abs_diff(&img, &v.out_illum);
    assert!(d < 1e-6, "max |diff| = {d}");
    assert!(max_abs_diff(&to_image(&v.image), &v.out_illum) > 1e-3);
}
