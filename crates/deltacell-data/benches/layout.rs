//! Reading and matching a mother-machine-sized training set: 1000 samples of 256×32, 16-bit PNG
//! images in `img/` and 8-bit 0/255 masks in `seg/`, generated once into a temporary folder.
//!
//! * `discover`: list both folders and match 2000 files into 1000 samples (no decoding);
//! * `read_img_parallel` / `read_img_sequential`: decode the 1000 16-bit PNGs to `Image`s;
//! * `discover_and_check`: what `deltacell check` does, i.e. match and decode all 2000 files.
//!
//! Run: `cargo bench -p deltacell-data --bench layout -- --warm-up-time 1 --measurement-time 3`
//!
//! Figures on the development machine (2 cores shared with other builds, load average 10–13, so
//! they are pessimistic; criterion medians): `discover` 14 ms, `read_img_parallel` 325 ms,
//! `read_img_sequential` 341 ms, `discover_and_check` 420–460 ms. A DeLTA-style load of the same
//! 1000 samples in Python (sorted `img/`, partner found by a `glob` per stem, OpenCV `imread` at
//! any depth) took 3.7 s on the same machine at the same time; OpenCV's decoding alone of the
//! 2000 files took 0.76 s.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use rayon::prelude::*;

use deltacell_data::check::check;
use deltacell_data::image::{Mask, Plane};
use deltacell_data::io::{self, Rescale};
use deltacell_data::layout::{Role, TrainingSet};

const N: usize = 1000;
const H: usize = 256;
const W: usize = 32;

/// Writes the set; images are textured (not constant) so that PNG decoding does real work.
fn make_set() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    for folder in ["img", "seg"] {
        std::fs::create_dir(dir.path().join(folder)).expect("folder");
    }
    (0..N).into_par_iter().for_each(|i| {
        let name = format!(
            "Position000001_Chamber{:06}_Frame{:06}.png",
            i / 100,
            i % 100
        );
        let mut state = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(1);
        let img = Plane::from_fn(H, W, |r, c| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let cell = (r / 20) % 2 == 0 && (4..28).contains(&c);
            let base: u32 = if cell { 12_000 } else { 30_000 };
            (base + (state % 2_000)) as u16
        });
        io::write_png_u16(dir.path().join("img").join(&name), &img).expect("write image");
        let mask = Mask::from_fn(H, W, |r, c| (r / 20) % 2 == 0 && (4..28).contains(&c));
        io::write_mask(dir.path().join("seg").join(&name), &mask).expect("write mask");
    });
    dir
}

fn bench(c: &mut Criterion) {
    let dir = make_set();
    let root = dir.path().to_path_buf();
    let imgs: Vec<PathBuf> = TrainingSet::discover(&root, None)
        .expect("set")
        .samples
        .iter()
        .filter_map(|s| s.path(Role::Img).map(PathBuf::from))
        .collect();
    assert_eq!(imgs.len(), N);

    let mut g = c.benchmark_group("layout_1000x256x32");
    g.sample_size(10);
    g.bench_function("discover", |b| {
        b.iter(|| black_box(TrainingSet::discover(&root, None).expect("set").len()))
    });
    g.bench_function("read_img_parallel", |b| {
        b.iter(|| {
            let images: Vec<_> = imgs
                .par_iter()
                .map(|p| io::read_image(p, Rescale::DtypeMax).expect("read"))
                .collect();
            black_box(images.len())
        })
    });
    g.bench_function("read_img_sequential", |b| {
        b.iter(|| {
            let images: Vec<_> = imgs
                .iter()
                .map(|p| io::read_image(p, Rescale::DtypeMax).expect("read"))
                .collect();
            black_box(images.len())
        })
    });
    g.bench_function("discover_and_check", |b| {
        b.iter(|| {
            let set = TrainingSet::discover(&root, None).expect("set");
            let report = check(&set);
            assert!(report.usable());
            black_box(report.samples)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
