//! Speed of the synthetic renderers (in memory, no disk).
//!
//! `cargo bench -p deltacell-data --bench synth -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion};
use deltacell_data::random::stream;
use deltacell_data::synth;

fn renderers(c: &mut Criterion) {
    let mut i = 0u64;
    c.bench_function("mm_chamber 256x32, 5 cells", |b| {
        b.iter(|| {
            i += 1;
            synth::mm_chamber(&mut stream(1, 0, i), 5)
        })
    });
    c.bench_function("mm_tracking_pair 256x32, 5 cells", |b| {
        b.iter(|| {
            i += 1;
            synth::mm_tracking_pair(&mut stream(1, 0, i), 5)
        })
    });
    let mut g = c.benchmark_group("large");
    g.sample_size(10);
    g.bench_function("colony 512x512, 150 cells", |b| {
        b.iter(|| {
            i += 1;
            synth::colony(&mut stream(1, 0, i), (512, 512), 150)
        })
    });
    g.bench_function("rois_field 512x512", |b| {
        b.iter(|| {
            i += 1;
            synth::rois_field(&mut stream(1, 0, i), (512, 512))
        })
    });
    g.finish();
}

criterion_group!(benches, renderers);
criterion_main!(benches);
