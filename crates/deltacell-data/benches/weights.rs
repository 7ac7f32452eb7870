//! Weight-map speed on synthetic masks of rod-shaped cells, against DeLTA 2.0.7's timings
//! (Python, scikit-image, same 2-core machine kind):
//!
//! | case | DeLTA 2.0.7 | goal |
//! |---|---|---|
//! | seg_weights, 256×32 chamber, 1–8 cells | 150 ms | ≤ 1.5 ms |
//! | seg_weights, 512×512 colony, ~200 cells | 35 100 ms | ≤ 35 ms |
//! | seg_weights_2d, 512×512 colony, ~200 cells | 405 ms | ≤ 4 ms |
//! | tracking_weights, 256×32 / 320×320 | 39 / 74 ms | ≤ 0.4 / 0.7 ms |
//! | make_weights, 200 chamber masks incl. PNG I/O | 123 ms per mask | ≤ 1.2 ms per mask |
//!
//! Run: `cargo bench -p deltacell-data --bench weights` (the `make_weights` figure is for all
//! 200 masks; divide by 200).
//!
//! The figures are **on-CPU time of one thread** (Linux `CLOCK_THREAD_CPUTIME_ID`), with
//! everything, rayon work included, run on that one thread: the machines this project shares
//! have 2 cores and a load of ~10, where wall-clock time mostly measures the queue. On an idle
//! machine wall time equals this figure; with more cores, `make_weights` and large distance
//! transforms divide it further.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::Criterion;
use deltacell_data::random::seeded;
use deltacell_data::wei::make_weights;
use deltacell_data::weights::{
    seg_weights, seg_weights_2d, tracking_weights, SegWeightParams, WeightRecipe,
};
use deltacell_data::{io, Mask};
use rand::Rng;

mod common;
use common::thread_cpu_ns;

/// Benchmarks `f` by the on-CPU time of the calling thread.
fn cpu_bench<R>(c: &mut Criterion, name: &str, mut f: impl FnMut() -> R) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let t0 = thread_cpu_ns();
            for _ in 0..iters {
                black_box(f());
            }
            Duration::from_nanos(thread_cpu_ns() - t0)
        })
    });
}

/// Pixels of a capsule (rod) of half-length `half`, radius `radius`, centre `(cy, cx)`, angle
/// `theta`, inside an `h × w` image.
fn rod(h: usize, w: usize, (cy, cx): (f64, f64), half: f64, radius: f64, theta: f64) -> Vec<usize> {
    let (dy, dx) = (theta.sin(), theta.cos());
    let reach = half + radius + 1.0;
    let (r0, r1) = (
        (cy - reach).max(0.0) as usize,
        ((cy + reach) as usize).min(h - 1),
    );
    let (c0, c1) = (
        (cx - reach).max(0.0) as usize,
        ((cx + reach) as usize).min(w - 1),
    );
    let mut px = Vec::new();
    for r in r0..=r1 {
        for c in c0..=c1 {
            let (py, pxx) = (r as f64 - cy, c as f64 - cx);
            let t = (py * dy + pxx * dx).clamp(-half, half);
            let (ey, ex) = (py - t * dy, pxx - t * dx);
            if ey * ey + ex * ex <= radius * radius {
                px.push(r * w + c);
            }
        }
    }
    px
}

/// A mother-machine chamber (256×32) holding `n` vertical rods stacked with 1–3 px gaps.
fn chamber(n: usize, seed: u64) -> Mask {
    let (h, w) = (256usize, 32usize);
    let mut rng = seeded(seed);
    let mut data = vec![0u8; h * w];
    let mut top = 2.0;
    let len = (240.0 / n as f64).min(40.0);
    for _ in 0..n {
        let half = (len - 8.0) / 2.0 * rng.random_range(0.8..1.0);
        let cy = top + half + 4.0;
        for i in rod(h, w, (cy, 16.0), half, 4.5, std::f64::consts::FRAC_PI_2) {
            data[i] = 1;
        }
        top = cy + half + 4.5 + rng.random_range(1.0..3.0);
    }
    Mask::from_vec(h, w, data).unwrap()
}

/// A 2-D colony: `n` randomly oriented rods (length 14–30, width 8) packed into `h × w`, each
/// kept 1 px away from the others (touching rods separated by a 1-px line, as in DeLTA's sets).
fn colony(h: usize, w: usize, n: usize, seed: u64) -> Mask {
    let mut rng = seeded(seed);
    let mut owner = vec![0u32; h * w];
    let mut placed = 0u32;
    let mut tries = 0;
    while (placed as usize) < n && tries < 100_000 {
        tries += 1;
        let cy = rng.random_range(8.0..h as f64 - 8.0);
        let cx = rng.random_range(8.0..w as f64 - 8.0);
        let px = rod(
            h,
            w,
            (cy, cx),
            rng.random_range(3.0..11.0),
            4.0,
            rng.random_range(0.0..std::f64::consts::PI),
        );
        let clear = px.iter().all(|&i| {
            let (r, c) = (i / w, i % w);
            (r.saturating_sub(1)..(r + 2).min(h))
                .all(|rr| (c.saturating_sub(1)..(c + 2).min(w)).all(|cc| owner[rr * w + cc] == 0))
        });
        if clear {
            placed += 1;
            for i in px {
                owner[i] = placed;
            }
        }
    }
    Mask::from_vec(h, w, owner.iter().map(|&o| u8::from(o != 0)).collect()).unwrap()
}

/// The tracked cell: the 8-connected component(s) of `segall` containing `(r, c)`.
fn tracked(segall: &Mask, points: &[(usize, usize)]) -> Mask {
    let (labels, _) =
        deltacell_data::morphology::label(segall, deltacell_data::morphology::Connectivity::Eight);
    let keep: Vec<u32> = points.iter().map(|&(r, c)| labels.get(r, c)).collect();
    Mask::from_fn(segall.height(), segall.width(), |r, c| {
        let l = labels.get(r, c);
        l != 0 && keep.contains(&l)
    })
}

fn first_cell(m: &Mask) -> (usize, usize) {
    let i = m.as_slice().iter().position(|&v| v != 0).unwrap();
    (i / m.width(), i % m.width())
}

fn bench_weights(c: &mut Criterion) {
    let params = SegWeightParams::default();
    for n in [1usize, 4, 8] {
        let m = chamber(n, n as u64);
        cpu_bench(c, &format!("seg_weights 256x32 {n} cells"), || {
            seg_weights(black_box(&m), &params)
        });
    }
    let col = colony(512, 512, 200, 3);
    let cells =
        deltacell_data::morphology::label(&col, deltacell_data::morphology::Connectivity::Eight).1;
    eprintln!("colony: {cells} cells, {} cell pixels", col.count());
    cpu_bench(c, "seg_weights 512x512 colony", || {
        seg_weights(black_box(&col), &params)
    });
    cpu_bench(c, "seg_weights_2d 512x512 colony", || {
        seg_weights_2d(black_box(&col), (1.0, 1.0))
    });

    let ch = chamber(6, 11);
    let mother = tracked(&ch, &[first_cell(&ch)]);
    cpu_bench(c, "tracking_weights 256x32", || {
        tracking_weights(black_box(&mother), &ch, 50.0).unwrap()
    });
    let pad = colony(320, 320, 80, 5);
    let track = tracked(&pad, &[first_cell(&pad)]);
    cpu_bench(c, "tracking_weights 320x320", || {
        tracking_weights(black_box(&track), &pad, 50.0).unwrap()
    });

    let dir = tempfile::tempdir().unwrap();
    write_chamber_set(dir.path(), 200);
    let recipe = WeightRecipe::Seg(params);
    let mut group = c.benchmark_group("make_weights");
    group.sample_size(10);
    group.bench_function("200 chamber masks incl. PNG I/O", |b| {
        b.iter_custom(|iters| {
            let t0 = thread_cpu_ns();
            for _ in 0..iters {
                make_weights(dir.path(), &recipe, true, &|_, _| {}).unwrap();
            }
            Duration::from_nanos(thread_cpu_ns() - t0)
        })
    });
    group.finish();
}

fn write_chamber_set(root: &Path, n: usize) {
    std::fs::create_dir_all(root.join("seg")).unwrap();
    for i in 0..n {
        let m = chamber(1 + i % 8, i as u64);
        io::write_mask(
            root.join("seg")
                .join(format!("Position01_Chamber01_Frame{i:06}.png")),
            &m,
        )
        .unwrap();
    }
}

/// The building blocks of `seg_weights_2d` on the colony, to see where the time goes.
fn bench_parts(c: &mut Criterion) {
    use deltacell_data::morphology::{
        close, distance_to, erode, kernel, skeletonize, skeletonize_lee,
    };
    let col = colony(512, 512, 200, 3);
    let k20 = kernel(20);
    let closed = close(&col, &k20);
    let border = Mask::from_fn(512, 512, |r, c| closed.get(r, c) != 0 && col.get(r, c) == 0);
    let eroded = erode(&col, &kernel(2));
    let skel = skeletonize(&eroded);
    eprintln!("border {} px, skeleton {} px", border.count(), skel.count());
    cpu_bench(c, "parts/close k20 512", || close(black_box(&col), &k20));
    cpu_bench(c, "parts/skeletonize cells 512", || {
        skeletonize(black_box(&eroded))
    });
    cpu_bench(c, "parts/skeletonize border 512", || {
        skeletonize(black_box(&border))
    });
    cpu_bench(c, "parts/skeletonize_lee cells 512", || {
        skeletonize_lee(black_box(&col))
    });
    cpu_bench(c, "parts/edt 512", || distance_to(black_box(&skel)));
}

fn benches() {
    // One rayon thread, the calling one (`use_current_thread` makes it the pool's worker, so
    // parallel iterators started here stay here): thread CPU time then covers all the work.
    let _pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .use_current_thread()
        .build()
        .expect("rayon pool");
    assert_eq!(rayon::current_thread_index(), Some(0));
    let mut c = Criterion::default().configure_from_args();
    bench_weights(&mut c);
    bench_parts(&mut c);
    c.final_summary();
}

fn main() {
    benches();
}
