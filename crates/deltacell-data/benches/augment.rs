//! Augmentation speed per sample with DeLTA's own training settings (issue 4's table):
//!
//! | case | DeLTA 2.0.7 | goal |
//! |---|---|---|
//! | seg 256×32 image+mask+weights | 3.7 ms | ≤ 0.07 ms |
//! | seg 512×512 image+mask+weights (2-D: + rotations_90d) | 364 ms | ≤ 7 ms |
//! | same + elastic_deformation {sigma 2, points 5} | 434 ms | ≤ 9 ms |
//! | tracking, 6 inputs 256×32 | 6.9 ms | ≤ 0.14 ms |
//! | tracking, 6 inputs 320×320 | 120 ms | ≤ 2.4 ms |
//!
//! Two groups: `cpu/…` is the **on-CPU time of the calling thread** (Linux
//! `CLOCK_THREAD_CPUTIME_ID`; a sample is augmented on one thread, so on an idle machine this is
//! the wall time, and on the shared 2-core machines it is the figure that does not depend on
//! the other builds), `wall/…` the usual wall-clock time. The copy of the input sample made
//! before each iteration is not timed in either.
//!
//! Run: `cargo bench -p deltacell-data --bench augment -- --warm-up-time 1 --measurement-time 3`
//! (`-- cpu/` for the CPU-time group only).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use deltacell_data::augment::{augment, AugmentParams, ElasticParams, GridPoints, Sample, Target};
use deltacell_data::image::{Image, Mask, Plane, WeightMap};
use deltacell_data::random::stream;

/// A phase-contrast-like image and a mask of rod-shaped cells.
fn image(h: usize, w: usize, phase: f32) -> Image {
    Image::from_plane(Plane::from_fn(h, w, |r, c| {
        0.5 + 0.3 * ((r as f32 * 0.21 + phase).sin() * (c as f32 * 0.17).cos())
    }))
}

fn mask(h: usize, w: usize) -> Mask {
    Mask::from_fn(h, w, |r, c| (r % 24) < 18 && (c % 16) > 3 && (c % 16) < 13)
}

fn weights(h: usize, w: usize) -> WeightMap {
    WeightMap::from_plane(Plane::from_fn(h, w, |r, c| {
        1.0 + ((r * 7 + c * 3) % 11) as f32
    }))
}

fn seg_sample(h: usize, w: usize) -> Sample {
    Sample {
        targets: vec![
            Target::Image(image(h, w, 0.0)),
            Target::Mask(mask(h, w)),
            Target::Weights(weights(h, w)),
        ],
    }
}

/// DeLTA's tracking sample: previous image, seed, image, all cells, mother/daughter, weights.
fn track_sample(h: usize, w: usize) -> Sample {
    Sample {
        targets: vec![
            Target::Image(image(h, w, 0.3)),
            Target::Mask(mask(h, w)),
            Target::Image(image(h, w, 0.0)),
            Target::Mask(mask(h, w)),
            Target::Mask(mask(h, w)),
            Target::Weights(weights(h, w)),
        ],
    }
}

mod common;
use common::thread_cpu_ns;

fn bench_case(c: &mut Criterion, name: &str, sample: Sample, params: AugmentParams) {
    let mut i = 0u64;
    c.bench_function(&format!("cpu/{name}"), |b| {
        b.iter_custom(|iters| {
            let mut total = 0;
            for _ in 0..iters {
                let mut s = sample.clone();
                i += 1;
                let t0 = thread_cpu_ns();
                augment(&mut s, &params, &mut stream(1, 0, i)).unwrap();
                total += thread_cpu_ns() - t0;
                black_box(s);
            }
            Duration::from_nanos(total)
        })
    });
    c.bench_function(&format!("wall/{name}"), |b| {
        b.iter_batched(
            || sample.clone(),
            |mut s| {
                i += 1;
                augment(&mut s, &params, &mut stream(1, 0, i)).unwrap();
                black_box(s)
            },
            BatchSize::SmallInput,
        )
    });
}

fn benches(c: &mut Criterion) {
    let seg = AugmentParams::seg_training();
    let seg_2d = AugmentParams {
        rotations_90d: true,
        ..AugmentParams::seg_training()
    };
    let seg_elastic = AugmentParams {
        elastic_deformation: Some(ElasticParams {
            sigma: 2.0,
            points: GridPoints::Square(5),
        }),
        ..seg_2d.clone()
    };
    bench_case(c, "seg 256x32 (DeLTA 3.7 ms)", seg_sample(256, 32), seg);
    bench_case(
        c,
        "seg 512x512 (DeLTA 364 ms)",
        seg_sample(512, 512),
        seg_2d,
    );
    bench_case(
        c,
        "seg 512x512 + elastic (DeLTA 434 ms)",
        seg_sample(512, 512),
        seg_elastic,
    );
    let track = AugmentParams::track_training();
    bench_case(
        c,
        "track 6x256x32 (DeLTA 6.9 ms)",
        track_sample(256, 32),
        track.clone(),
    );
    bench_case(
        c,
        "track 6x320x320 (DeLTA 120 ms)",
        track_sample(320, 320),
        track,
    );
}

criterion_group!(augment_benches, benches);
criterion_main!(augment_benches);
