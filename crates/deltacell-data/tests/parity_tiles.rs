//! `tiles::create_windows` / `stitch` against DeLTA 2.0.7's `create_windows` + `stitch_pic`.

use std::fs::File;
use std::path::Path;

use deltacell_data::tiles::{create_windows, create_windows_v207, stitch};
use deltacell_data::Plane;
use ndarray::{Array2, Array3};
use ndarray_npy::NpzReader;

fn npz(case: &str) -> NpzReader<File> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/delta-2.0.7")
        .join(format!("{case}.npz"));
    NpzReader::new(File::open(p).unwrap()).unwrap()
}

fn plane(a: &Array2<f32>) -> Plane<f32> {
    Plane::from_vec(a.nrows(), a.ncols(), a.iter().copied().collect()).unwrap()
}

fn spans(a: &Array2<i64>) -> Vec<(i64, i64)> {
    a.rows().into_iter().map(|r| (r[0], r[1])).collect()
}

fn check_case(case: &str, target: (usize, usize)) {
    let mut z = npz(case);
    let img: Array2<f32> = z.by_name("in_img").unwrap();
    let windows: Array3<f32> = z.by_name("out_windows").unwrap();
    let loc_y = spans(&z.by_name("out_loc_y").unwrap());
    let loc_x = spans(&z.by_name("out_loc_x").unwrap());
    let img = plane(&img);
    for (name, (tiles, w)) in [
        ("newest", create_windows(&img, target, 24).unwrap()),
        ("2.0.7", create_windows_v207(&img, target, 24).unwrap()),
    ] {
        assert_eq!(w.loc_y, loc_y, "{case} {name}");
        assert_eq!(w.loc_x, loc_x, "{case} {name}");
        assert_eq!(tiles.len(), windows.shape()[0]);
        for (i, t) in tiles.iter().enumerate() {
            let want: Vec<f32> = windows
                .index_axis(ndarray::Axis(0), i)
                .iter()
                .copied()
                .collect();
            assert_eq!(t.as_slice(), &want[..], "{case} {name} tile {i}");
        }
        assert_eq!(w.stitch(&tiles).unwrap(), img);
        assert_eq!(stitch(&tiles, &w.loc_y, &w.loc_x).unwrap(), img);
    }
}

#[test]
fn create_windows_stitch_700x600() {
    check_case("create_windows_stitch", (512, 512));
    let mut z = npz("create_windows_stitch");
    let out: Array2<f32> = z.by_name("out_stitch").unwrap();
    let img: Array2<f32> = z.by_name("in_img").unwrap();
    assert_eq!(out, img);
}

#[test]
fn create_windows_pad_300x260() {
    check_case("create_windows_pad", (256, 256));
}
