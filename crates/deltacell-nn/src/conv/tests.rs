use super::direct::{forward_shifted, weight_grad_shifted};
use super::*;
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d as burn_conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

/// Direct definition of the convolution, for comparison.
fn naive(g: &Geometry, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut out = vec![0f32; g.n * g.cout * oh * ow];
    for n in 0..g.n {
        for co in 0..g.cout {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = b[co] as f64;
                    for ci in 0..g.cin {
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let iy = oy as isize + ky as isize - g.pad[0] as isize;
                                let ix = ox as isize + kx as isize - g.pad[1] as isize;
                                if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                    continue;
                                }
                                s += (x[((n * g.cin + ci) * g.h + iy as usize) * g.w + ix as usize]
                                    * w[((co * g.cin + ci) * g.kh + ky) * g.kw + kx])
                                    as f64;
                            }
                        }
                    }
                    out[((n * g.cout + co) * oh + oy) * ow + ox] = s as f32;
                }
            }
        }
    }
    out
}

pub(super) fn values(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let v = (i as u32)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed * 97)
                % 1000;
            v as f32 / 500.0 - 1.0
        })
        .collect()
}

fn geometries() -> Vec<Geometry> {
    let g = |n, cin, h, w, cout, k, pad| Geometry {
        n,
        cin,
        h,
        w,
        cout,
        kh: k,
        kw: k,
        pad,
    };
    vec![
        g(2, 3, 9, 7, 4, 3, [1, 1, 1, 1]),
        g(1, 5, 6, 10, 3, 2, [0, 0, 1, 1]),
        g(3, 4, 5, 4, 1, 1, [0; 4]),
        g(1, 1, 17, 3, 6, 3, [1, 1, 1, 1]),
        g(2, 2, 4, 4, 2, 3, [0; 4]),
        // Several rows per tile, and tiles that start inside the image.
        g(1, 6, 37, 20, 5, 3, [1, 1, 1, 1]),
        g(2, 4, 21, 12, 3, 2, [0, 0, 1, 1]),
        // Enough input channels for the shifted-view products (the input gradient of the
        // first two goes through im2col tiles, of the last two through shifted views).
        g(2, 9, 11, 17, 4, 3, [1, 1, 1, 1]),
        g(1, 12, 10, 16, 3, 2, [0, 0, 1, 1]),
        g(2, 8, 9, 18, 8, 3, [0; 4]),
        g(1, 10, 23, 15, 9, 3, [1, 1, 1, 1]),
        // Small planes: several images per product.
        g(5, 3, 4, 6, 4, 3, [1, 1, 1, 1]),
        g(6, 8, 6, 4, 5, 2, [0, 0, 1, 1]),
    ]
}

fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

#[test]
fn forward_matches_the_definition() {
    for g in geometries() {
        let x = values(g.n * g.cin * g.h * g.w, 1);
        let w = values(g.cout * g.cin * g.kh * g.kw, 2);
        let b = values(g.cout, 3);
        let want = naive(&g, &x, &w, &b);
        close(&forward(&g, &x, &w, Some(&b), false), &want, "forward");
        let relu: Vec<f32> = want.iter().map(|v| v.max(0.0)).collect();
        close(&forward(&g, &x, &w, Some(&b), true), &relu, "forward+relu");
    }
}

/// Gradients of `L = Σ c ⊙ conv(x, w) + b` against the definition: dL/dw[o,i,ky,kx] =
/// Σ c[o, y, x] x[i, y+ky−top, x+kx−left]; dL/dx by linearity through the naive conv.
#[test]
fn gradients_match_the_definition() {
    for g in geometries() {
        let x = values(g.n * g.cin * g.h * g.w, 4);
        let w = values(g.cout * g.cin * g.kh * g.kw, 5);
        let (oh, ow) = (g.out_h(), g.out_w());
        let c = values(g.n * g.cout * oh * ow, 6);
        let zero_b = vec![0f32; g.cout];
        // dL/dw by finite differences are exact here: L is linear in w.
        let loss = |x: &[f32], w: &[f32]| -> f64 {
            naive(&g, x, w, &zero_b)
                .iter()
                .zip(&c)
                .map(|(a, b)| (*a as f64) * (*b as f64))
                .sum()
        };
        let base = loss(&x, &w);
        let dw = weight_grad(&g, &x, &c);
        for (i, &got) in dw.iter().enumerate() {
            let mut w2 = w.clone();
            w2[i] += 1.0;
            let want = (loss(&x, &w2) - base) as f32;
            assert!(
                (got - want).abs() < 1e-3 * (1.0 + want.abs()),
                "{g:?} dw[{i}]"
            );
        }
        let dx = input_grad(&g, &w, &c);
        let step = (dx.len() / 101).max(1);
        for (i, &got) in dx.iter().enumerate().step_by(step) {
            let mut x2 = x.clone();
            x2[i] += 1.0;
            let want = (loss(&x2, &w) - base) as f32;
            assert!(
                (got - want).abs() < 1e-3 * (1.0 + want.abs()),
                "{g:?} dx[{i}]"
            );
        }
        let db = bias_grad(&g, &c);
        for co in 0..g.cout {
            let want: f32 = (0..g.n)
                .map(|n| {
                    c[(n * g.cout + co) * oh * ow..][..oh * ow]
                        .iter()
                        .sum::<f32>()
                })
                .sum();
            assert!((db[co] - want).abs() < 1e-3 * (1.0 + want.abs()));
        }
    }
}

#[test]
fn both_strategies_are_exercised() {
    let gs = geometries();
    assert!(gs.iter().any(|g| g.use_shifted()));
    assert!(gs.iter().any(|g| !g.use_shifted() && !g.is_pointwise()));
    assert!(gs.iter().any(|g| g.transposed().use_shifted()));
    assert!(gs
        .iter()
        .any(|g| g.use_image_groups() && g.image_groups().iter().any(|(a, b)| b - a > 1)));
}

/// Nearest 2× upsampling of `n·c` planes of `h × w`.
fn nearest2(x: &[f32], planes: usize, h: usize, w: usize) -> Vec<f32> {
    let mut up = vec![0f32; planes * 4 * h * w];
    for p in 0..planes {
        for y in 0..2 * h {
            for x2 in 0..2 * w {
                up[(p * 2 * h + y) * 2 * w + x2] = x[(p * h + y / 2) * w + x2 / 2];
            }
        }
    }
    up
}

#[test]
fn up_convolution_matches_upsample_then_conv() {
    for (n, c, h, w, cout) in [
        (2, 3, 4, 5, 4),
        (1, 9, 6, 3, 2),
        (3, 8, 2, 2, 8),
        (1, 1, 9, 16, 3),
        (2, 37, 7, 11, 35),
        (1, 20, 13, 30, 67),
        // Several blocks of grid positions for the kernel gradient, cut inside rows; a kernel
        // large enough for its products to be split between the threads.
        (1, 3, 50, 60, 130),
        (1, 300, 16, 3, 900),
    ] {
        let x = values(n * c * h * w, 11);
        let wts = values(cout * c * 4, 12);
        let b = values(cout, 13);
        let up = nearest2(&x, n * c, h, w);
        let g = Geometry {
            n,
            cin: c,
            h: 2 * h,
            w: 2 * w,
            cout,
            kh: 2,
            kw: 2,
            pad: [0, 0, 1, 1],
        };
        let want = naive(&g, &up, &wts, &b);
        let relu: Vec<f32> = want.iter().map(|v| v.max(0.0)).collect();
        // Gradients of Σ cw ⊙ out: the weight's as for the upsampled input, the input's
        // summed over each 2×2 block of the upsampled input's gradient.
        let cw = values(n * cout * 4 * h * w, 14);
        let want_dw = weight_grad(&g, &up, &cw);
        let dup = input_grad(&g, &wts, &cw);
        let mut want_dx = vec![0f32; n * c * h * w];
        for p in 0..n * c {
            for y in 0..2 * h {
                for x2 in 0..2 * w {
                    want_dx[(p * h + y / 2) * w + x2 / 2] += dup[(p * 2 * h + y) * 2 * w + x2];
                }
            }
        }
        for isa in Isa::available() {
            let shape = [n, c, h, w];
            close(
                &up::forward(isa, shape, &x, &wts, Some(&b), false),
                &want,
                "up forward",
            );
            close(
                &up::forward(isa, shape, &x, &wts, Some(&b), true),
                &relu,
                "up forward+relu",
            );
            let (dw, dx) = up::backward(isa, shape, &x, &wts, &cw, true);
            // Sums over up to thousands of products with cancellation: compared relative to the
            // largest value (f32 rounding of the sums).
            let dx = dx.expect("input gradient");
            for (got, want, what) in [(&dw, &want_dw, "dw"), (&dx, &want_dx, "dx")] {
                let err = max_rel_err(got, want);
                assert!(err < 1e-5, "{isa:?} {shape:?} up {what}: {err:e}");
            }
            assert!(up::backward(isa, shape, &x, &wts, &cw, false).1.is_none());
        }
        close(
            &up_forward([n, c, h, w], &x, &wts, Some(&b), true),
            &relu,
            "up forward (public)",
        );
    }
}

/// The fused ReLU mask and bias gradient against the two passes, on planes that are not a
/// multiple of the summation blocks.
#[test]
fn relu_backward_bias_matches_the_two_passes() {
    let (n, c, plane) = (3, 5, 37 * 29);
    let dy = values(n * c * plane, 7);
    let y = values(n * c * plane, 8);
    let mut want = dy.clone();
    relu_backward(&mut want, &y);
    let mut sums = vec![0f64; c];
    for (i, v) in want.iter().enumerate() {
        sums[(i / plane) % c] += *v as f64;
    }
    let mut got = dy.clone();
    let db = relu_backward_bias(&mut got, Some(&y), [n, c, plane]);
    assert_eq!(got, want);
    for (a, b) in db.iter().zip(&sums) {
        assert!((*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
    }
    let mut plain = dy.clone();
    let db = relu_backward_bias(&mut plain, None, [n, c, plane]);
    assert_eq!(plain, dy);
    for (co, v) in db.iter().enumerate() {
        let s: f64 = (0..n)
            .flat_map(|b| &dy[(b * c + co) * plane..][..plane])
            .map(|&v| v as f64)
            .sum();
        assert!((*v as f64 - s).abs() < 1e-4 * (1.0 + s.abs()));
    }
}

#[test]
fn relu_backward_masks() {
    let mut d = vec![1.0, 2.0, 3.0, 4.0];
    relu_backward(&mut d, &[0.0, 0.5, -1.0, 2.0]);
    assert_eq!(d, vec![0.0, 2.0, 0.0, 4.0]);
}

/// Shapes the kernels do not take (padding as large as the kernel) go through burn's own
/// convolution, the path other devices use, with the same result as the definition.
#[test]
fn unsupported_shapes_fall_back_to_burn() {
    let device = crate::device::cpu();
    let g = Geometry {
        n: 1,
        cin: 2,
        h: 5,
        w: 4,
        cout: 3,
        kh: 3,
        kw: 3,
        pad: [3, 1, 3, 1],
    };
    assert!(!g.supported());
    let (xs, ws, bs) = (
        values(g.n * g.cin * g.h * g.w, 31),
        values(g.cout * g.cin * 9, 32),
        values(g.cout, 33),
    );
    let y = conv2d(
        Tensor::<4>::from_data(TensorData::new(xs.clone(), [g.n, g.cin, g.h, g.w]), &device),
        Tensor::<4>::from_data(TensorData::new(ws.clone(), [g.cout, g.cin, 3, 3]), &device),
        Tensor::<1>::from_data(TensorData::new(bs.clone(), [g.cout]), &device),
        g.pad,
        false,
    );
    assert_eq!(y.dims(), [g.n, g.cout, g.out_h(), g.out_w()]);
    let got = y.into_data().try_to_vec::<f32>().unwrap();
    close(&got, &naive(&g, &xs, &ws, &bs), "fallback");
}

/// The up-convolution op (forward and gradients) against burn's interpolate + conv2d + relu.
#[test]
fn burn_up_op_matches_interpolate_then_conv() {
    let device = crate::device::cpu().autodiff();
    let (n, c, h, w, cout) = (2, 9, 5, 8, 4);
    let make = || {
        (
            Tensor::<4>::from_data(
                TensorData::new(values(n * c * h * w, 21), [n, c, h, w]),
                &device,
            )
            .require_grad(),
            Tensor::<4>::from_data(
                TensorData::new(values(cout * c * 4, 22), [cout, c, 2, 2]),
                &device,
            )
            .require_grad(),
            Tensor::<1>::from_data(TensorData::new(values(cout, 23), [cout]), &device)
                .require_grad(),
        )
    };
    let cm = Tensor::<4>::from_data(
        TensorData::new(values(n * cout * 4 * h * w, 24), [n, cout, 2 * h, 2 * w]),
        &device,
    );
    let (x1, w1, b1) = make();
    let ours = up_conv2d(x1.clone(), w1.clone(), b1.clone(), true);
    let (x2, w2, b2) = make();
    let up = burn::tensor::module::interpolate(
        x2.clone(),
        burn::tensor::ops::InterpolateOptions::new(burn::tensor::ops::InterpolateMode::Nearest)
            .with_output_size([2 * h, 2 * w]),
    );
    let theirs = relu(burn_conv2d(
        up.pad((0, 1, 0, 1), burn::tensor::ops::PadMode::Constant(0.0)),
        w2.clone(),
        Some(b2.clone()),
        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
    ));
    let v = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
    close(&v(ours.clone()), &v(theirs.clone()), "up forward");
    let g1 = (ours * cm.clone()).sum().backward();
    let g2 = (theirs * cm).sum().backward();
    let grad4 = |t: &Tensor<4>, g| t.grad(g).unwrap().into_data().try_to_vec::<f32>().unwrap();
    close(&grad4(&x1, &g1), &grad4(&x2, &g2), "up dx");
    close(&grad4(&w1, &g1), &grad4(&w2, &g2), "up dw");
    let gb = |t: &Tensor<1>, g| t.grad(g).unwrap().into_data().try_to_vec::<f32>().unwrap();
    close(&gb(&b1, &g1), &gb(&b2, &g2), "up db");
}

/// The burn op (forward and all three gradients) against burn's own conv2d + relu.
#[test]
fn burn_op_matches_burn_conv2d_with_gradients() {
    let device = crate::device::cpu().autodiff();
    for (k, pad, cin, cout) in [
        (3, [1, 1, 1, 1], 3, 4),
        (3, [1, 1, 1, 1], 10, 9),
        (2, [0, 0, 1, 1], 9, 4),
        (1, [0; 4], 3, 1),
    ] {
        let (n, h, w) = (2, 8, 16);
        let xs = values(n * cin * h * w, 7);
        let ws = values(cout * cin * k * k, 8);
        let bs = values(cout, 9);
        let cs = values(n * cout * h * w, 10);
        let make = || {
            (
                Tensor::<4>::from_data(TensorData::new(xs.clone(), [n, cin, h, w]), &device)
                    .require_grad(),
                Tensor::<4>::from_data(TensorData::new(ws.clone(), [cout, cin, k, k]), &device)
                    .require_grad(),
                Tensor::<1>::from_data(TensorData::new(bs.clone(), [cout]), &device).require_grad(),
            )
        };
        let c = Tensor::<4>::from_data(TensorData::new(cs.clone(), [n, cout, h, w]), &device);
        let (x1, w1, b1) = make();
        let ours = conv2d(x1.clone(), w1.clone(), b1.clone(), pad, true);
        let (x2, w2, b2) = make();
        let xp = x2.clone().pad(
            (pad[1], pad[3], pad[0], pad[2]),
            burn::tensor::ops::PadMode::Constant(0.0),
        );
        let theirs = relu(burn_conv2d(
            xp,
            w2.clone(),
            Some(b2.clone()),
            ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
        ));
        let v = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
        close(&v(ours.clone()), &v(theirs.clone()), "burn forward");
        let g1 = (ours * c.clone()).sum().backward();
        let g2 = (theirs * c).sum().backward();
        let grad4 = |t: &Tensor<4>, g| t.grad(g).unwrap().into_data().try_to_vec::<f32>().unwrap();
        close(&grad4(&x1, &g1), &grad4(&x2, &g2), "dx");
        close(&grad4(&w1, &g1), &grad4(&w2, &g2), "dw");
        let gb1 = b1
            .grad(&g1)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let gb2 = b2
            .grad(&g2)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        close(&gb1, &gb2, "db");
    }
}

/// Geometries for Winograd: odd output sizes (partial tiles), batch 1, channel counts that are
/// not multiples of 8 (nor of a micro-kernel's rows or 32), asymmetric padding, planes smaller
/// than a tile, more than one panel of 32 tiles.
fn winograd_geometries() -> Vec<Geometry> {
    let g = |n, cin, h, w, cout, pad| Geometry {
        n,
        cin,
        h,
        w,
        cout,
        kh: 3,
        kw: 3,
        pad,
    };
    vec![
        g(1, 17, 9, 7, 19, [1, 1, 1, 1]),
        g(2, 16, 8, 8, 16, [1, 1, 1, 1]),
        g(3, 21, 4, 2, 18, [1, 1, 1, 1]),
        g(1, 16, 11, 13, 23, [0; 4]),
        g(2, 20, 6, 9, 17, [2, 0, 1, 2]),
        g(1, 33, 31, 5, 16, [1, 1, 1, 1]),
        g(2, 19, 23, 37, 37, [1, 1, 1, 1]),
        // Rows wide enough for whole vectors of tiles read as strided loads, and a row end
        // where they stop.
        g(1, 17, 9, 150, 18, [1, 1, 1, 1]),
        g(2, 16, 6, 131, 16, [0, 1, 2, 1]),
        g(1, 16, 5, 128, 17, [1, 1, 1, 1]),
        // Rows of 8 or 4 tiles: each half of a vector of tiles along its own tile row.
        g(2, 17, 9, 32, 18, [1, 1, 1, 1]),
        g(1, 16, 7, 16, 16, [1, 1, 1, 1]),
        // Whole panels of 32 output channels (the weight gradient's vectorised path) and
        // tiles cut by the plane's edge.
        g(2, 18, 13, 17, 64, [1, 1, 1, 1]),
    ]
}

/// Every Winograd variant: instruction sets this CPU runs, both tile sizes, chunks in parallel
/// and one after the other.
pub(super) fn winograd_options() -> Vec<winograd::Opts> {
    let mut all = Vec::new();
    for isa in Isa::available() {
        for tile in [winograd::Tile::F2, winograd::Tile::F4] {
            for inner in [false, true] {
                all.push(winograd::Opts {
                    isa,
                    tile,
                    inner: Some(inner),
                });
            }
        }
    }
    all
}

/// The largest error of `got` against `want`, relative to the largest magnitude of `want`.
fn max_rel_err(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
    got.iter()
        .zip(want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

/// The error bound of a Winograd variant relative to the largest output: F(2×2) is of the
/// order of the direct kernels (1–2e-7 measured), F(4×4)'s larger transform coefficients give
/// a few times more (about 1e-6 measured).
fn winograd_bound(tile: winograd::Tile) -> f32 {
    match tile {
        winograd::Tile::F2 => 2e-6,
        winograd::Tile::F4 => 1e-5,
    }
}

/// Winograd's forward (with bias and ReLU) against the definition, and its error against the
/// direct kernels' on the same data, for every variant.
#[test]
fn winograd_forward_matches_the_definition() {
    for g in winograd_geometries() {
        let x = values(g.n * g.cin * g.h * g.w, 41);
        let w = values(g.cout * g.cin * 9, 42);
        let b = values(g.cout, 43);
        let want = naive(&g, &x, &w, &b);
        let direct = forward_shifted(&g, &x, &w, Some(&b), false);
        let direct_err = max_rel_err(&direct, &want);
        let plane = g.out_h() * g.out_w();
        let xs = winograd::Split::whole(&x, g.cin, g.h * g.w);
        for o in winograd_options() {
            for relu in [false, true] {
                let mut got = vec![f32::NAN; g.n * g.cout * plane];
                let dst = winograd::Split::whole_mut(&mut got, g.cout, plane);
                winograd::forward_split(o, &g, &xs, (&w, false), Some(&b), relu, dst);
                let want: Vec<f32> = if relu {
                    want.iter().map(|v| v.max(0.0)).collect()
                } else {
                    want.clone()
                };
                let err = max_rel_err(&got, &want);
                if !relu {
                    eprintln!("{g:?} {o:?}: forward error {err:.1e}, direct {direct_err:.1e}");
                }
                assert!(
                    err < winograd_bound(o.tile),
                    "{g:?} {o:?}: Winograd error {err:e} (direct {direct_err:e})"
                );
            }
        }
    }
}

/// Winograd's weight gradient against the direct kernels and the definition, and the input
/// gradient (a forward pass with the flipped kernel, transformed from the original one)
/// against the direct forward pass with the flipped kernel, for every variant.
#[test]
fn winograd_gradients_match_the_direct_kernels() {
    for g in winograd_geometries() {
        let x = values(g.n * g.cin * g.h * g.w, 44);
        let w = values(g.cout * g.cin * 9, 45);
        let c = values(g.n * g.cout * g.out_h() * g.out_w(), 46);
        let want = weight_grad_shifted(&g, &x, &c);
        // The definition, for a few kernel entries.
        let zero_b = vec![0f32; g.cout];
        let loss = |w: &[f32]| -> f64 {
            naive(&g, &x, w, &zero_b)
                .iter()
                .zip(&c)
                .map(|(a, b)| (*a as f64) * (*b as f64))
                .sum()
        };
        let base = loss(&w);
        let probes: Vec<(usize, f32)> = (0..w.len())
            .step_by(w.len() / 7 + 1)
            .map(|i| {
                let mut w2 = w.clone();
                w2[i] += 1.0;
                (i, (loss(&w2) - base) as f32)
            })
            .collect();
        let t = g.transposed();
        let mut flipped = vec![0f32; w.len()];
        for co in 0..g.cout {
            for ci in 0..g.cin {
                for k in 0..9 {
                    flipped[(ci * g.cout + co) * 9 + 8 - k] = w[(co * g.cin + ci) * 9 + k];
                }
            }
        }
        let direct_dx = naive(&t, &c, &flipped, &vec![0.0; t.cout]);
        let xs = winograd::Split::whole(&x, g.cin, g.h * g.w);
        for o in winograd_options() {
            let got = winograd::weight_grad_with(o, &g, &xs, &c);
            let err = max_rel_err(&got, &want);
            eprintln!("{g:?} {o:?}: dw error against direct {err:.1e}");
            assert!(err < winograd_bound(o.tile), "{g:?} {o:?} dw {err:e}");
            for &(i, fd) in &probes {
                assert!(
                    (got[i] - fd).abs() < 1e-3 * (1.0 + fd.abs()),
                    "{g:?} {o:?} dw[{i}]"
                );
            }
            if winograd::choose(&t).is_some() {
                let plane = g.h * g.w;
                let mut dx = vec![f32::NAN; g.n * g.cin * plane];
                let dst = winograd::Split::whole_mut(&mut dx, g.cin, plane);
                let cs = winograd::Split::whole(&c, t.cin, t.h * t.w);
                winograd::forward_split(o, &t, &cs, (&w, true), None, false, dst);
                let err = max_rel_err(&dx, &direct_dx);
                assert!(err < winograd_bound(o.tile), "{g:?} {o:?} dx {err:e}");
            }
        }
        // The public entry points (the process's instruction set, the tile chosen).
        let bound = winograd_bound(winograd::Tile::F4);
        assert!(max_rel_err(&weight_grad(&g, &x, &c), &want) < bound);
        if t.use_winograd() {
            assert!(max_rel_err(&input_grad(&g, &w, &c), &direct_dx) < bound);
        }
    }
}

/// The micro-kernels of every instruction set against a plain product, on row counts up to
/// and past each kernel's block, odd depths and several panels, overwriting and accumulating.
#[test]
fn micro_kernels_match_a_plain_product() {
    for isa in Isa::available() {
        for (m, k, panels) in [(1, 1, 1), (5, 7, 2), (13, 33, 1), (25, 3, 3), (12, 64, 2)] {
            let n = panels * simd::LANES;
            let (a_rs, b_rs, c_rs) = (k + 3, n + 5, n + 2);
            let a = values(m * a_rs, 1);
            let b = values(k * b_rs, 2);
            for accumulate in [false, true] {
                let mut c = values(m * c_rs, 3);
                let mut want = c.clone();
                for r in 0..m {
                    for j in 0..n {
                        let s: f32 = (0..k).map(|kk| a[r * a_rs + kk] * b[kk * b_rs + j]).sum();
                        want[r * c_rs + j] = if accumulate {
                            want[r * c_rs + j] + s
                        } else {
                            s
                        };
                    }
                }
                // SAFETY: the matrices are whole vectors of the stated strides.
                unsafe {
                    simd::gemm(
                        isa,
                        [m, k, panels],
                        (a.as_ptr(), a_rs),
                        (b.as_ptr(), b_rs),
                        (c.as_mut_ptr(), c_rs),
                        accumulate,
                    );
                }
                for r in 0..m {
                    for j in 0..n {
                        let (got, want) = (c[r * c_rs + j], want[r * c_rs + j]);
                        assert!(
                            (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                            "{isa:?} {m}×{k}×{panels} [{r}][{j}]: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}

/// The max-pooling op (forward and input gradient) against burn's `max_pool2d` with autodiff,
/// on odd sizes (the trailing row and column dropped), batch 1 and 3 channels; ReLU-like zero
/// ties included.
#[test]
fn max_pool_matches_burn() {
    let device = crate::device::cpu().autodiff();
    for (n, c, h, w) in [(1, 3, 5, 7), (2, 2, 8, 6), (1, 1, 2, 2)] {
        let xs: Vec<f32> = values(n * c * h * w, 51)
            .iter()
            .map(|v| v.max(0.0))
            .collect();
        let cm = Tensor::<4>::from_data(
            TensorData::new(values(n * c * (h / 2) * (w / 2), 52), [n, c, h / 2, w / 2]),
            &device,
        );
        let x1 = Tensor::<4>::from_data(TensorData::new(xs.clone(), [n, c, h, w]), &device)
            .require_grad();
        let x2 = Tensor::<4>::from_data(TensorData::new(xs, [n, c, h, w]), &device).require_grad();
        let ours = max_pool2d(x1.clone());
        let theirs = burn::tensor::module::max_pool2d(
            x2.clone(),
            burn::tensor::ops::MaxPoolOptions::new([2, 2]),
        );
        assert_eq!(ours.dims(), theirs.dims());
        let v = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(v(ours.clone()), v(theirs.clone()), "pool forward");
        let g1 = (ours * cm.clone()).sum().backward();
        let g2 = (theirs * cm).sum().backward();
        let grad = |t: &Tensor<4>, g| t.grad(g).unwrap().into_data().try_to_vec::<f32>().unwrap();
        let (d1, d2) = (grad(&x1, &g1), grad(&x2, &g2));
        // Ties (zeros) may route the gradient to another input of the window; the sums per
        // window agree, and away from ties the positions too.
        for (i, (a, b)) in d1.iter().zip(&d2).enumerate() {
            if both_nonzero(&d1, &d2, i) {
                assert_eq!(a, b, "pool dx[{i}]");
            }
        }
        assert!((d1.iter().sum::<f32>() - d2.iter().sum::<f32>()).abs() < 1e-4);
    }
}

/// Whether both gradients are defined at a position that is not part of a tie (either one is
/// non-zero): then they must be equal.
fn both_nonzero(d1: &[f32], d2: &[f32], i: usize) -> bool {
    d1[i] != 0.0 && d2[i] != 0.0
}

/// The convolution of a concatenation `[x0, x1]` (forward and the three gradients) against the
/// same convolution of the materialised concatenation, through Winograd and through the direct
/// kernels (few channels), with odd sizes and a first part that is not a multiple of 8.
#[test]
fn concatenated_input_matches_the_concatenation() {
    let g = |n, cin, h, w, cout| Geometry {
        n,
        cin,
        h,
        w,
        cout,
        kh: 3,
        kw: 3,
        pad: [1, 1, 1, 1],
    };
    for (g, c0) in [
        (g(2, 37, 7, 9, 18), 13),
        (g(1, 32, 8, 4, 16), 16),
        (g(2, 6, 5, 7, 3), 2),
    ] {
        let plane = g.h * g.w;
        let x0 = values(g.n * c0 * plane, 61);
        let x1 = values(g.n * (g.cin - c0) * plane, 62);
        let x = concat(g.n, [c0, g.cin - c0], plane, &x0, &x1);
        let w = values(g.cout * g.cin * 9, 63);
        let b = values(g.cout, 64);
        let dz = values(g.n * g.cout * g.out_h() * g.out_w(), 65);
        close(
            &forward_cat(&g, [&x0, &x1], c0, &w, Some(&b), true),
            &forward(&g, &x, &w, Some(&b), true),
            "cat forward",
        );
        close(
            &weight_grad_cat(&g, [&x0, &x1], c0, &dz),
            &weight_grad(&g, &x, &dz),
            "cat dw",
        );
        let (d0, d1) = input_grad_cat(&g, &w, &dz, c0);
        let (w0, w1) = split(g.n, [g.cin, c0], plane, &input_grad(&g, &w, &dz));
        close(&d0, &w0, "cat dx0");
        close(&d1, &w1, "cat dx1");
        close(&x, &naive_concat(&g, c0, &x0, &x1), "concat");
    }
}

/// The concatenation by its definition.
fn naive_concat(g: &Geometry, c0: usize, x0: &[f32], x1: &[f32]) -> Vec<f32> {
    let plane = g.h * g.w;
    let mut out = Vec::new();
    for n in 0..g.n {
        for c in 0..g.cin {
            let src = if c < c0 {
                &x0[(n * c0 + c) * plane..]
            } else {
                &x1[(n * (g.cin - c0) + c - c0) * plane..]
            };
            out.extend_from_slice(&src[..plane]);
        }
    }
    out
}

/// The concatenation op (forward and the gradients of both parts, kernel and bias) against
/// burn's `Tensor::cat` + conv2d + relu with autodiff; Winograd (≥ 16 channels) and the direct
/// kernels (few channels).
#[test]
fn burn_cat_op_matches_cat_then_conv() {
    let device = crate::device::cpu().autodiff();
    for (n, c0, c1, h, w, cout) in [(2, 9, 11, 7, 5, 17), (1, 2, 3, 6, 8, 4)] {
        let cin = c0 + c1;
        let make = || {
            (
                Tensor::<4>::from_data(
                    TensorData::new(values(n * c0 * h * w, 71), [n, c0, h, w]),
                    &device,
                )
                .require_grad(),
                Tensor::<4>::from_data(
                    TensorData::new(values(n * c1 * h * w, 72), [n, c1, h, w]),
                    &device,
                )
                .require_grad(),
                Tensor::<4>::from_data(
                    TensorData::new(values(cout * cin * 9, 73), [cout, cin, 3, 3]),
                    &device,
                )
                .require_grad(),
                Tensor::<1>::from_data(TensorData::new(values(cout, 74), [cout]), &device)
                    .require_grad(),
            )
        };
        let cm = Tensor::<4>::from_data(
            TensorData::new(values(n * cout * h * w, 75), [n, cout, h, w]),
            &device,
        );
        let (s1, u1, w1, b1) = make();
        let ours = conv2d_cat(s1.clone(), u1.clone(), w1.clone(), b1.clone(), [1; 4], true);
        let (s2, u2, w2, b2) = make();
        let theirs = relu(burn_conv2d(
            Tensor::cat(vec![s2.clone(), u2.clone()], 1),
            w2.clone(),
            Some(b2.clone()),
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        ));
        let v = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
        close(&v(ours.clone()), &v(theirs.clone()), "cat forward");
        let g1 = (ours * cm.clone()).sum().backward();
        let g2 = (theirs * cm).sum().backward();
        let grad4 = |t: &Tensor<4>, g| t.grad(g).unwrap().into_data().try_to_vec::<f32>().unwrap();
        close(&grad4(&s1, &g1), &grad4(&s2, &g2), "cat d skip");
        close(&grad4(&u1, &g1), &grad4(&u2, &g2), "cat d up");
        close(&grad4(&w1, &g1), &grad4(&w2, &g2), "cat dw");
        let gb = |t: &Tensor<1>, g| t.grad(g).unwrap().into_data().try_to_vec::<f32>().unwrap();
        close(&gb(&b1, &g1), &gb(&b2, &g2), "cat db");
    }
}
