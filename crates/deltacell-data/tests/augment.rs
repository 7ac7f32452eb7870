//! Augmentation: deterministic operations exactly, random ones by their distributions, elastic
//! deformation properties, reproducibility.

use deltacell_data::augment::elastic::{self, Displacement};
use deltacell_data::augment::geometric::{self, Affine};
use deltacell_data::augment::{
    augment, augment_all, AugmentParams, ElasticParams, GridPoints, Sample, Target,
};
use deltacell_data::image::{Image, Mask, Plane, WeightMap};
use deltacell_data::morphology::{label, Connectivity};
use deltacell_data::random::stream;

/// A non-square image whose every pixel value is distinct.
fn ramp_image(h: usize, w: usize) -> Image {
    let n = (h * w) as f32;
    Image::from_plane(Plane::from_fn(h, w, |r, c| (r * w + c) as f32 / n))
}

fn blob_mask(h: usize, w: usize) -> Mask {
    Mask::from_fn(h, w, |r, c| {
        (r > h / 4 && r < h / 2 && c > w / 4 && c < w / 2) || (r > h / 2 + 2 && c > w / 2 + 1)
    })
}

fn seg_sample(h: usize, w: usize) -> Sample {
    let mask = blob_mask(h, w);
    let wei = WeightMap::from_plane(Plane::from_fn(h, w, |r, c| (r + 2 * c) as f32));
    Sample {
        targets: vec![
            Target::Image(ramp_image(h, w)),
            Target::Mask(mask),
            Target::Weights(wei),
        ],
    }
}

fn image_of(s: &Sample, i: usize) -> &Image {
    match &s.targets[i] {
        Target::Image(x) => x,
        _ => panic!("target {i} is not an image"),
    }
}

fn mask_of(s: &Sample, i: usize) -> &Mask {
    match &s.targets[i] {
        Target::Mask(x) => x,
        _ => panic!("target {i} is not a mask"),
    }
}

fn weights_of(s: &Sample, i: usize) -> &WeightMap {
    match &s.targets[i] {
        Target::Weights(x) => x,
        _ => panic!("target {i} is not a weight map"),
    }
}

// ---------------------------------------------------------------- deterministic operations

#[test]
fn flips_apply_to_every_target_consistently_on_non_square() {
    let params = AugmentParams {
        horizontal_flip: true,
        ..Default::default()
    };
    let (h, w) = (6, 4);
    let orig = seg_sample(h, w);
    let (mut flipped, mut kept) = (0, 0);
    for seed in 0..40 {
        let mut s = orig.clone();
        augment(&mut s, &params, &mut stream(seed, 0, 0)).unwrap();
        let img = image_of(&s, 0);
        if img == image_of(&orig, 0) {
            kept += 1;
            assert_eq!(s, orig);
        } else {
            flipped += 1;
            for r in 0..h {
                for c in 0..w {
                    assert_eq!(img.get(r, c), image_of(&orig, 0).get(r, w - 1 - c));
                    assert_eq!(
                        mask_of(&s, 1).get(r, c),
                        mask_of(&orig, 1).get(r, w - 1 - c)
                    );
                    assert_eq!(
                        weights_of(&s, 2).get(r, c),
                        weights_of(&orig, 2).get(r, w - 1 - c)
                    );
                }
            }
        }
    }
    assert!(flipped > 0 && kept > 0);
}

#[test]
fn vertical_flip_is_exact() {
    let img = ramp_image(5, 3);
    let mut p = img.plane().clone();
    geometric::flip_vertical(&mut p);
    for r in 0..5 {
        assert_eq!(p.row(r), img.row(4 - r));
    }
}

#[test]
fn rot90_changes_the_shape_of_non_square_samples() {
    let params = AugmentParams {
        rotations_90d: true,
        ..Default::default()
    };
    let orig = seg_sample(8, 3);
    let mut seen = [false; 4];
    for seed in 0..60 {
        let mut s = orig.clone();
        augment(&mut s, &params, &mut stream(seed, 0, 0)).unwrap();
        // Identify k by comparing with numpy-style rot90 of the original image.
        let k = (0..4u32)
            .find(|&k| geometric::rot90(image_of(&orig, 0).plane(), k) == *image_of(&s, 0).plane())
            .expect("output is a quarter turn of the input");
        seen[k as usize] = true;
        let expected_shape = if k % 2 == 1 { (3, 8) } else { (8, 3) };
        for t in &s.targets {
            assert_eq!(t.shape(), expected_shape);
        }
        assert_eq!(
            *mask_of(&s, 1).plane(),
            geometric::rot90(mask_of(&orig, 1).plane(), k)
        );
        assert_eq!(
            *weights_of(&s, 2).plane(),
            geometric::rot90(weights_of(&orig, 2).plane(), k)
        );
    }
    assert!(seen.iter().all(|&s| s));
    // One counter-clockwise quarter turn moves the top-right corner to the top-left.
    let p = Plane::from_vec(2, 3, vec![1u8, 2, 3, 4, 5, 6]).unwrap();
    assert_eq!(geometric::rot90(&p, 1).as_slice(), &[3, 6, 2, 5, 1, 4]);
}

#[test]
fn affine_shift_moves_content_up_and_left() {
    // DeLTA's test: shift (2, 1) at zoom 1 with nearest moves the content 1 up and 2 left; shifts
    // within ±0.4 of those give the same result.
    let (h, w) = (9, 11);
    let mut m = Plane::filled(h, w, 0u8);
    for (r, c) in [(4, 5), (4, 6), (5, 5), (6, 8), (2, 3)] {
        m.set(r, c, 1);
    }
    let out = geometric::warp_nearest(&m, &Affine::delta((h, w), 0.0, 1.0, (2.0, 1.0)));
    for r in 0..h {
        for c in 0..w {
            let src = m.get((r + 1).min(h - 1), (c + 2).min(w - 1));
            assert_eq!(out.get(r, c), src, "({r}, {c})");
        }
    }
    for sx in [1.6, 1.8, 2.2, 2.4] {
        for sy in [0.6, 0.9, 1.2, 1.4] {
            let o = geometric::warp_nearest(&m, &Affine::delta((h, w), 0.0, 1.0, (sx, sy)));
            assert_eq!(o, out, "shift ({sx}, {sy})");
        }
    }
}

#[test]
fn affine_rotation_is_counter_clockwise_about_the_centre_and_zoom_magnifies() {
    let n = 7;
    let p = Plane::from_fn(n, n, |r, c| (r * n + c) as u32);
    let a = Affine::delta((n, n), 90.0, 1.0, (0.0, 0.0));
    // A quarter turn about the exact centre is numpy's rot90 (counter-clockwise on screen).
    assert_eq!(geometric::warp_nearest(&p, &a), geometric::rot90(&p, 1));
    let f = p.map(|v| v as f32);
    let b = geometric::warp_bilinear(&f, &a);
    let r = geometric::rot90(&f, 1);
    assert!(b
        .as_slice()
        .iter()
        .zip(r.as_slice())
        .all(|(x, y)| (x - y).abs() < 1e-5));
    // Zoom 2 about the centre (3, 3): output (r, c) reads input (3 + (r−3)/2, 3 + (c−3)/2).
    let z = geometric::warp_bilinear(&f, &Affine::delta((n, n), 0.0, 2.0, (0.0, 0.0)));
    for r in 0..n {
        for c in 0..n {
            let (sy, sx) = (3.0 + (r as f32 - 3.0) / 2.0, 3.0 + (c as f32 - 3.0) / 2.0);
            // The ramp is linear, so bilinear interpolation is exact.
            assert!((z.get(r, c) - (sy * n as f32 + sx)).abs() < 1e-4);
        }
    }
}

#[test]
fn nearest_keeps_masks_binary_and_weights_unmixed() {
    let params = AugmentParams {
        rotation: 30.0,
        zoom: 0.5,
        shift_x: 0.2,
        shift_y: 0.2,
        ..Default::default()
    };
    let orig = seg_sample(32, 24);
    let weight_values: std::collections::HashSet<u32> = weights_of(&orig, 2)
        .as_slice()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    for seed in 0..20 {
        let mut s = orig.clone();
        augment(&mut s, &params, &mut stream(seed, 1, 2)).unwrap();
        assert!(mask_of(&s, 1).as_slice().iter().all(|&v| v <= 1));
        assert!(weights_of(&s, 2)
            .as_slice()
            .iter()
            .all(|v| weight_values.contains(&v.to_bits())));
        assert!(image_of(&s, 0)
            .as_slice()
            .iter()
            .all(|v| (0.0..=1.0).contains(v)));
    }
}

#[test]
fn intensity_operations_never_touch_masks_or_weights() {
    let params = AugmentParams {
        illumination_voodoo: true,
        histogram_voodoo: true,
        gaussian_noise: 0.1,
        gaussian_blur: 2.0,
        ..Default::default()
    };
    let orig = seg_sample(20, 12);
    let mut s = orig.clone();
    augment(&mut s, &params, &mut stream(3, 0, 0)).unwrap();
    assert_ne!(image_of(&s, 0), image_of(&orig, 0));
    assert_eq!(mask_of(&s, 1), mask_of(&orig, 1));
    assert_eq!(weights_of(&s, 2), weights_of(&orig, 2));
}

#[test]
fn mismatched_shapes_are_an_error() {
    let mut s = Sample {
        targets: vec![
            Target::Image(Image::zeros(4, 4)),
            Target::Mask(Mask::zeros(4, 5)),
        ],
    };
    assert!(augment(&mut s, &AugmentParams::seg_training(), &mut stream(0, 0, 0)).is_err());
}

#[test]
fn resize_changes_the_shape_of_every_target_alike() {
    let params = AugmentParams {
        resize: true,
        ..Default::default()
    };
    let mut shapes = std::collections::HashSet::new();
    for seed in 0..10 {
        let mut s = seg_sample(40, 30);
        augment(&mut s, &params, &mut stream(seed, 0, 0)).unwrap();
        let sh = s.shape().unwrap().unwrap();
        shapes.insert(sh);
        assert!(mask_of(&s, 1).as_slice().iter().all(|&v| v <= 1));
    }
    assert!(shapes.len() > 5, "{shapes:?}");
}

// ---------------------------------------------------------------- reproducibility

#[test]
fn same_seed_gives_bit_identical_output_independent_of_threads() {
    let mut params = AugmentParams::rois_training();
    params.gaussian_blur = 1.0;
    params.elastic_deformation = Some(ElasticParams {
        sigma: 3.0,
        points: GridPoints::Square(4),
    });
    let base: Vec<Sample> = (0..12).map(|_| seg_sample(24, 24)).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut s = base.clone();
        pool.install(|| augment_all(&mut s, &params, 42, 3, 100))
            .unwrap();
        s
    };
    let a = run(1);
    let b = run(3);
    assert_eq!(a, b);
    // Sample k is exactly augment() with stream(seed, epoch, first + k).
    let mut single = base[5].clone();
    augment(&mut single, &params, &mut stream(42, 3, 105)).unwrap();
    assert_eq!(single, a[5]);
    // A different seed gives a different result.
    let mut other = base.clone();
    augment_all(&mut other, &params, 43, 3, 100).unwrap();
    assert_ne!(other, a);
}

// ---------------------------------------------------------------- distributions

/// Kolmogorov–Smirnov statistic of `xs` against the CDF `cdf`.
fn ks(mut xs: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    xs.iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn angle_zoom_and_shift_follow_the_documented_distributions() {
    let params = AugmentParams {
        rotation: 2.0,
        zoom: 0.15,
        shift_x: 0.1,
        shift_y: 0.3,
        ..Default::default()
    };
    let n = 4000;
    let draws: Vec<_> = (0..n)
        .map(|i| params.draw_affine(&mut stream(7, 0, i)))
        .collect();
    // KS critical value at alpha = 0.001 is about 1.95 / sqrt(n).
    let crit = 1.95 / (n as f64).sqrt();
    let uniform = |a: f64| move |x: f64| ((x + a) / (2.0 * a)).clamp(0.0, 1.0);
    let angles: Vec<f64> = draws.iter().map(|d| d.angle_deg).collect();
    assert!(ks(angles, uniform(2.0)) < crit);
    let sx: Vec<f64> = draws.iter().map(|d| d.shift_x).collect();
    assert!(ks(sx, uniform(0.1)) < crit);
    let sy: Vec<f64> = draws.iter().map(|d| d.shift_y).collect();
    assert!(ks(sy, uniform(0.3)) < crit);
    // zoom − 1 ~ min(Exp(mean z/3), z): the CDF is 1 − exp(−3x/z) below z and 1 at z.
    let z = 0.15;
    let zetas: Vec<f64> = draws.iter().map(|d| d.zoom - 1.0).collect();
    assert!(zetas.iter().all(|&v| (0.0..=z + 1e-12).contains(&v)));
    let clipped = zetas.iter().filter(|&&v| v >= z - 1e-12).count() as f64 / n as f64;
    assert!(
        (clipped - (-3.0f64).exp()).abs() < 0.015,
        "clipped fraction {clipped}"
    );
    // Below the clip the values follow the exponential restricted to [0, z).
    let below: Vec<f64> = zetas.into_iter().filter(|&v| v < z - 1e-12).collect();
    let mass = 1.0 - (-3.0f64).exp();
    let crit_below = 1.95 / (below.len() as f64).sqrt();
    assert!(ks(below, |x| (1.0 - (-3.0 * x / z).exp()) / mass) < crit_below);
}

#[test]
fn noise_sigma_is_uniform_up_to_the_maximum() {
    let s = 0.1;
    let params = AugmentParams {
        gaussian_noise: s,
        ..Default::default()
    };
    let n = 400;
    let sigmas: Vec<f64> = (0..n)
        .map(|i| {
            let mut sample = Sample {
                targets: vec![
                    Target::Image(Image::filled(64, 64, 0.5)),
                    Target::Mask(Mask::zeros(64, 64)),
                ],
            };
            augment(&mut sample, &params, &mut stream(11, 0, i)).unwrap();
            assert_eq!(mask_of(&sample, 1).count(), 0);
            let v = image_of(&sample, 0).as_slice();
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
            (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        })
        .collect();
    assert!(sigmas.iter().all(|&x| x < s * 1.05));
    let mean = sigmas.iter().sum::<f64>() / n as f64;
    assert!((mean - s / 2.0).abs() < 0.006, "mean sigma {mean}");
    // Against U[0, s): the per-image estimate has ~1% relative error, well inside the bound.
    assert!(ks(sigmas, |x| (x / s).clamp(0.0, 1.0)) < 1.95 / (n as f64).sqrt() + 0.02);
}

/// The output of `params` on a 5×5 ramp for sample `i`, as the ramp's integer values.
fn symmetry_output(params: &AugmentParams, i: u64) -> Plane<u32> {
    let orig = Plane::from_fn(5, 5, |r, c| (r * 5 + c) as f32 / 25.0);
    let mut s = Sample {
        targets: vec![Target::Image(Image::from_plane(orig))],
    };
    augment(&mut s, params, &mut stream(5, 1, i)).unwrap();
    image_of(&s, 0).plane().map(|v| (v * 25.0).round() as u32)
}

#[test]
fn flip_and_rot90_frequencies() {
    let n = 4000u64;
    let orig = Plane::from_fn(5, 5, |r, c| (r * 5 + c) as u32);
    let binom_tol = |p: f64| 4.0 * (p * (1.0 - p) / n as f64).sqrt();
    for (params, flip) in [
        (
            AugmentParams {
                horizontal_flip: true,
                ..Default::default()
            },
            geometric::flip_horizontal::<u32> as fn(&mut Plane<u32>),
        ),
        (
            AugmentParams {
                vertical_flip: true,
                ..Default::default()
            },
            geometric::flip_vertical::<u32>,
        ),
    ] {
        let mut flipped_ref = orig.clone();
        flip(&mut flipped_ref);
        let mut count = 0;
        for i in 0..n {
            let out = symmetry_output(&params, i);
            if out == flipped_ref {
                count += 1;
            } else {
                assert_eq!(out, orig);
            }
        }
        assert!(
            (count as f64 / n as f64 - 0.5).abs() < binom_tol(0.5),
            "{count}"
        );
    }
    let params = AugmentParams {
        rotations_90d: true,
        ..Default::default()
    };
    let mut counts = [0usize; 4];
    for i in 0..n {
        let out = symmetry_output(&params, i);
        let k = (0..4).find(|&k| geometric::rot90(&orig, k) == out).unwrap();
        counts[k as usize] += 1;
    }
    for c in counts {
        assert!(
            (c as f64 / n as f64 - 0.25).abs() < binom_tol(0.25),
            "{counts:?}"
        );
    }
}

// ---------------------------------------------------------------- elastic deformation

#[test]
fn elastic_with_zero_sigma_is_identity() {
    let params = AugmentParams {
        elastic_deformation: Some(ElasticParams {
            sigma: 0.0,
            points: GridPoints::Square(5),
        }),
        ..Default::default()
    };
    let orig = seg_sample(30, 20);
    let mut s = orig.clone();
    augment(&mut s, &params, &mut stream(1, 0, 0)).unwrap();
    assert_eq!(s, orig);
    // A zero displacement grid is the identity for masks and weights too.
    let d = Displacement {
        py: 3,
        px: 3,
        dy: vec![0.0; 9],
        dx: vec![0.0; 9],
    };
    let (dy, dx) = d.dense((30, 20));
    assert_eq!(
        elastic::warp_mask(mask_of(&orig, 1), &dy, &dx),
        *mask_of(&orig, 1)
    );
    assert_eq!(
        elastic::warp_nearest(weights_of(&orig, 2).plane(), &dy, &dx),
        *weights_of(&orig, 2).plane()
    );
}

#[test]
fn elastic_keeps_masks_binary_and_moves_everything_together() {
    let params = AugmentParams {
        elastic_deformation: Some(ElasticParams {
            sigma: 4.0,
            points: GridPoints::Rect([3, 4]),
        }),
        ..Default::default()
    };
    for seed in 0..10 {
        let mut s = seg_sample(40, 32);
        augment(&mut s, &params, &mut stream(seed, 0, 0)).unwrap();
        assert!(mask_of(&s, 1).as_slice().iter().all(|&v| v <= 1));
        assert!(mask_of(&s, 1).count() > 0);
        assert!(image_of(&s, 0)
            .as_slice()
            .iter()
            .all(|v| (0.0..=1.0).contains(v)));
    }
}

#[test]
fn cells_pushed_together_by_the_warp_are_separated() {
    // Two cells separated by a one-pixel gap at column 5; the field below makes columns 4..=6
    // of the output read input columns 4, 6 and 6 (the gap vanishes), so a plain nearest warp
    // would merge the cells.
    let (h, w) = (8, 12);
    let mask = Mask::from_fn(h, w, |r, c| {
        (2..6).contains(&r) && (1..11).contains(&c) && c != 5
    });
    let dy = Plane::filled(h, w, 0f32);
    let dx = Plane::from_fn(h, w, |_, c| if c == 5 { 1.0 } else { 0.0 });
    let naive = Mask::from_plane(elastic::warp_nearest(mask.plane(), &dy, &dx));
    assert_eq!(
        label(&naive, Connectivity::Eight).1,
        1,
        "the naive warp merges"
    );
    let out = elastic::warp_mask(&mask, &dy, &dx);
    let (labels, n) = label(&out, Connectivity::Eight);
    assert_eq!(n, 2, "{out:?}");
    assert!(labels.as_slice().iter().all(|&l| l <= 2));
    // Exactly the pixels on both sides of the new contact line were removed.
    let removed = naive.count() - out.count();
    assert_eq!(removed, 2 * 4);
    assert!(out
        .as_slice()
        .iter()
        .zip(naive.as_slice())
        .all(|(&o, &n)| o <= n));
}

/// Reference: the interpolating cubic B-spline with mirror boundaries by brute force — solve
/// the dense collocation system with the basis evaluated on an extended, mirrored index range,
/// then sum the basis over all coefficients.
#[allow(clippy::needless_range_loop)] // index-heavy on purpose: a plain reference
fn reference_upsample(values: &[f64], py: usize, px: usize, (h, w): (usize, usize)) -> Vec<f64> {
    fn beta3(t: f64) -> f64 {
        let a = t.abs();
        if a < 1.0 {
            2.0 / 3.0 - a * a + a * a * a / 2.0
        } else if a < 2.0 {
            (2.0 - a).powi(3) / 6.0
        } else {
            0.0
        }
    }
    // The value at position t of a spline with coefficients c (mirror-extended over a wide
    // range so that every basis function touching [0, p−1] is included).
    fn eval1(c: &[f64], t: f64) -> f64 {
        let p = c.len() as isize;
        (-4..p + 4)
            .map(|j| {
                let idx = if p == 1 {
                    0
                } else {
                    let period = 2 * p - 2;
                    let m = j.rem_euclid(period);
                    if m >= p {
                        period - m
                    } else {
                        m
                    }
                };
                c[idx as usize] * beta3(t - j as f64)
            })
            .sum()
    }
    fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
        let n = b.len();
        for i in 0..n {
            let p = (i..n)
                .max_by(|&x, &y| a[x][i].abs().total_cmp(&a[y][i].abs()))
                .unwrap();
            a.swap(i, p);
            b.swap(i, p);
            for k in i + 1..n {
                let f = a[k][i] / a[i][i];
                for j in i..n {
                    a[k][j] -= f * a[i][j];
                }
                b[k] -= f * b[i];
            }
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            x[i] = (b[i] - (i + 1..n).map(|j| a[i][j] * x[j]).sum::<f64>()) / a[i][i];
        }
        x
    }
    // Collocation matrix of one axis: column j = the spline with unit coefficient j at knot i.
    let colloc = |p: usize| -> Vec<Vec<f64>> {
        (0..p)
            .map(|i| {
                (0..p)
                    .map(|j| {
                        let mut e = vec![0.0; p];
                        e[j] = 1.0;
                        eval1(&e, i as f64)
                    })
                    .collect()
            })
            .collect()
    };
    let (cy, cx) = (colloc(py), colloc(px));
    let mut c = values.to_vec();
    for r in 0..py {
        let row = solve(cx.clone(), c[r * px..(r + 1) * px].to_vec());
        c[r * px..(r + 1) * px].copy_from_slice(&row);
    }
    for k in 0..px {
        let col: Vec<f64> = (0..py).map(|r| c[r * px + k]).collect();
        let f = solve(cy.clone(), col);
        for r in 0..py {
            c[r * px + k] = f[r];
        }
    }
    let pos = |n: usize, p: usize| -> Vec<f64> {
        (0..n)
            .map(|i| {
                if n == 1 {
                    0.0
                } else {
                    i as f64 * (p as f64 - 1.0) / (n as f64 - 1.0)
                }
            })
            .collect()
    };
    let (ry, rx) = (pos(h, py), pos(w, px));
    let mut out = Vec::with_capacity(h * w);
    for &ty in &ry {
        // Interpolate every control column at ty, then along x.
        let t: Vec<f64> = (0..px)
            .map(|k| eval1(&(0..py).map(|r| c[r * px + k]).collect::<Vec<_>>(), ty))
            .collect();
        for &tx in &rx {
            out.push(eval1(&t, tx));
        }
    }
    out
}

#[test]
fn displacement_upsampling_matches_a_reference_cubic_bspline() {
    for (py, px, h, w) in [(3, 4, 9, 13), (2, 2, 5, 7), (5, 3, 17, 11), (1, 3, 4, 6)] {
        let mut rng = stream(9, py as u64, px as u64);
        let d = Displacement::random(&mut rng, 2.0, (py, px));
        let (dy, dx) = d.dense((h, w));
        let ry = reference_upsample(&d.dy, py, px, (h, w));
        let rx = reference_upsample(&d.dx, py, px, (h, w));
        for i in 0..h * w {
            assert!((dy.as_slice()[i] as f64 - ry[i]).abs() < 1e-5, "dy {i}");
            assert!((dx.as_slice()[i] as f64 - rx[i]).abs() < 1e-5, "dx {i}");
        }
        // Interpolation: where a pixel falls on a control point, the field equals its value.
        if (h - 1) % (py.max(2) - 1) == 0 && (w - 1) % (px.max(2) - 1) == 0 && py > 1 && px > 1 {
            let (sy, sx) = ((h - 1) / (py - 1), (w - 1) / (px - 1));
            for j in 0..py {
                for k in 0..px {
                    let v = dy.get(j * sy, k * sx) as f64;
                    assert!((v - d.dy[j * px + k]).abs() < 1e-5);
                }
            }
        }
    }
}

#[test]
fn folded_flips_and_quarter_turns_match_applying_them_first() {
    use deltacell_data::augment::geometric::PreTransform;
    let (h, w) = (13, 20);
    let img = ramp_image(h, w).plane().clone();
    let mask = blob_mask(h, w).plane().clone();
    for hflip in [false, true] {
        for vflip in [false, true] {
            for k in 0..4 {
                let pre = PreTransform {
                    horizontal_flip: hflip,
                    vertical_flip: vflip,
                    quarter_turns: k,
                };
                let (mut p, mut m) = (img.clone(), mask.clone());
                if hflip {
                    geometric::flip_horizontal(&mut p);
                    geometric::flip_horizontal(&mut m);
                }
                if vflip {
                    geometric::flip_vertical(&mut p);
                    geometric::flip_vertical(&mut m);
                }
                let (p, m) = (geometric::rot90(&p, k), geometric::rot90(&m, k));
                assert_eq!(pre.shape((h, w)), p.shape());
                for (angle, zoom, shift) in [(7.0, 1.1, (1.3, -0.7)), (-2.0, 1.02, (0.0, 0.4))] {
                    let a = Affine::delta(p.shape(), angle, zoom, shift);
                    let folded = pre.compose(&a, (h, w));
                    let seq = geometric::warp_bilinear(&p, &a);
                    let one = geometric::warp_bilinear_to(&img, &folded, p.shape());
                    let diff = seq
                        .as_slice()
                        .iter()
                        .zip(one.as_slice())
                        .map(|(x, y)| (x - y).abs())
                        .fold(0f32, f32::max);
                    assert!(diff < 1e-4, "{hflip} {vflip} {k}: {diff}");
                    // Nearest: identical except where a coordinate lies within rounding of a
                    // half-pixel tie (none expected at these angles, at most a few allowed).
                    let seq_m = geometric::warp_nearest(&m, &a);
                    let one_m = geometric::warp_nearest_to(&mask, &folded, p.shape());
                    let differ = seq_m
                        .as_slice()
                        .iter()
                        .zip(one_m.as_slice())
                        .filter(|(x, y)| x != y)
                        .count();
                    assert!(
                        differ <= 2,
                        "{hflip} {vflip} {k}: {differ} mask pixels differ"
                    );
                }
                // Without a warp the transform is applied exactly.
                let id = Affine::delta(p.shape(), 0.0, 1.0, (0.0, 0.0));
                assert_eq!(
                    geometric::warp_nearest_to(&mask, &pre.compose(&id, (h, w)), p.shape()),
                    m
                );
            }
        }
    }
}
