//! Post-processing, labelling, tiling and evaluation on a 512×512 field of ~300 rod-like cells.

use criterion::{criterion_group, criterion_main, Criterion};
use deltacell_data::metrics::{evaluate_seg, instances};
use deltacell_data::morphology::{label, Connectivity};
use deltacell_data::postprocess::{filter_areas, label_seg, postprocess, PostprocessParams};
use deltacell_data::tiles::create_windows;
use deltacell_data::{Labels, Mask, Plane};

/// Rods 5×14 on a staggered grid, separated by background; `shift` moves every cell.
fn field(shift: usize) -> Mask {
    Mask::from_plane(Plane::from_fn(512, 512, |r, c| {
        let (rr, cc) = ((r + shift) % 18, (c + (r / 18) * 7) % 8);
        u8::from(rr < 14 && cc < 5)
    }))
}

fn bench(c: &mut Criterion) {
    let truth = field(0);
    let pred = field(1);
    let logits = truth.map(|v| if v != 0 { 2.0f32 } else { -2.0 });
    c.bench_function("postprocess_v207_512", |b| {
        b.iter(|| postprocess(&logits, &PostprocessParams::v207(5, Some(20))))
    });
    c.bench_function("label_seg_512", |b| b.iter(|| label_seg(&truth)));
    c.bench_function("filter_areas_512", |b| {
        b.iter(|| filter_areas(&truth, 20.0, None))
    });
    let (tl, n) = label(&truth, Connectivity::Eight);
    let pl: Labels = instances(&label(&pred, Connectivity::Eight).0);
    assert!(n > 200);
    c.bench_function("evaluate_seg_512", |b| {
        b.iter(|| evaluate_seg(&pl, &tl).unwrap())
    });
    let big = Plane::from_fn(2048, 2048, |r, c| (r ^ c) as f32);
    c.bench_function("create_windows_stitch_2048", |b| {
        b.iter(|| {
            let (t, w) = create_windows(&big, (512, 512), 24).unwrap();
            w.stitch(&t).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
