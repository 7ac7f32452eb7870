//! The kernels' sums do not depend on which threads run their tasks (issue 28).

use super::tests::{values, winograd_options};
use super::*;

/// Runs `f` in a pool of `threads` threads four times as it comes (the threads steal work from
/// each other as they like) and once with all but the calling worker kept asleep (one thread
/// runs every task), and checks that the five results are equal bit for bit.
fn same_whoever_runs_it(threads: usize, what: &str, f: impl Fn() -> Vec<f32> + Sync) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let first = pool.install(&f);
    for _ in 0..3 {
        assert!(
            pool.install(&f) == first,
            "{what}: differs between two runs"
        );
    }
    let asleep = AtomicUsize::new(0);
    let alone = pool.install(|| {
        rayon::scope(|s| {
            for _ in 1..threads {
                s.spawn(|_| {
                    asleep.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(300));
                });
            }
            // Wait (a bounded time) until the other workers have taken their sleeping task.
            let t0 = std::time::Instant::now();
            while asleep.load(Ordering::SeqCst) < threads - 1 && t0.elapsed().as_secs() < 2 {
                std::thread::yield_now();
            }
            f()
        })
    });
    assert!(
        alone == first,
        "{what}: differs when one thread does all the work"
    );
}

/// Every reduction of the weight and bias gradients (Winograd with chunks in parallel and one
/// after the other, im2col tiles, 1×1, image groups, shifted views, the up-convolution's
/// kernel gradient) gives the same bits whichever threads run its tasks.
#[test]
fn gradients_do_not_depend_on_which_threads_run_the_tasks() {
    let g = |n, cin, h, w, cout, k: usize| Geometry {
        n,
        cin,
        h,
        w,
        cout,
        kh: k,
        kw: k,
        pad: [k / 2; 4],
    };
    // Winograd: every instruction set, both tiles, chunks in parallel and one after the other
    // (8 chunks of F(4×4) tiles, 13 of F(2×2) ones).
    let wg = g(2, 16, 128, 128, 16, 3);
    let x = values(wg.n * wg.cin * wg.h * wg.w, 3);
    let dz = values(wg.n * wg.cout * wg.out_h() * wg.out_w(), 4);
    let xs = winograd::Split::whole(&x, wg.cin, wg.h * wg.w);
    for o in winograd_options() {
        same_whoever_runs_it(2, &format!("winograd {o:?}"), || {
            winograd::weight_grad_with(o, &wg, &xs, &dz)
        });
    }
    for (geometry, path) in [
        (wg, "winograd F(4x4)"),
        (g(2, 64, 12, 12, 64, 3), "winograd F(2x2)"),
        (g(2, 1, 64, 64, 16, 3), "im2col tiles"),
        (g(2, 16, 64, 64, 1, 1), "1x1"),
        (g(4, 32, 4, 4, 32, 3), "image groups"),
        (g(2, 8, 48, 48, 8, 3), "shifted views"),
    ] {
        let x = values(geometry.n * geometry.cin * geometry.h * geometry.w, 5);
        let dz = values(
            geometry.n * geometry.cout * geometry.out_h() * geometry.out_w(),
            6,
        );
        for threads in [2, 3] {
            same_whoever_runs_it(threads, path, || weight_grad(&geometry, &x, &dz));
            same_whoever_runs_it(threads, path, || bias_grad(&geometry, &dz));
        }
    }
    let (n, c, h, w, cout) = (2, 32, 24, 24, 16);
    let x = values(n * c * h * w, 7);
    let wts = values(cout * c * 4, 8);
    let dz = values(n * cout * 4 * h * w, 9);
    for threads in [2, 3] {
        same_whoever_runs_it(threads, "up-convolution", || {
            up_backward([n, c, h, w], &x, &wts, &dz, false).0
        });
    }
}
