//! Augmentation speed per sample with DeLTA's own training settings (issue 4's table).
//!
//! Run: `cargo bench -p deltacell-data --bench augment -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

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

fn bench_case(c: &mut Criterion, name: &str, sample: Sample, params: AugmentParams) {
    let mut i = 0u64;
    c.bench_function(name, |b| {
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
