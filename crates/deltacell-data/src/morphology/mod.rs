//! Binary morphology on [`Mask`](crate::Mask)s: the building blocks of DeLTA's weight maps.
//!
//! * [`label`]: connected components, 4- or 8-connectivity, numbered in raster order
//!   (scikit-image `measure.label`).
//! * [`squared_distance_to`] / [`distance_to`]: the exact Euclidean distance transform
//!   (scikit-image `medial_axis(..., return_distance=True)` / SciPy `distance_transform_edt` /
//!   OpenCV `distanceTransform(DIST_L2, DIST_MASK_PRECISE)`), in linear time.
//! * [`kernel`]: OpenCV's elliptic structuring element, and [`erode`], [`dilate`], [`close`] with
//!   OpenCV's anchor and border conventions.
//! * [`skeletonize`] (scikit-image's default 2-D thinning) and [`skeletonize_lee`]
//!   (scikit-image `skeletonize(method="lee")`), pixel-identical to scikit-image.
//!
//! Everything works on 0/1 [`Mask`](crate::Mask)s; the pixels outside the image are background unless a
//! function says otherwise.
//!
//! One file per family, as imageproc splits its morphology: `label.rs`, `distance.rs`
//! (distance transforms), `erode.rs` (structuring elements, erosion, dilation, closing),
//! `skeleton.rs`.

mod distance;
mod erode;
mod label;
mod skeleton;

pub use distance::{distance_to, squared_distance_to, NO_FEATURE};
pub(crate) use distance::{sq_to_dist, squared_edt, EdtScratch};
pub use erode::{close, dilate, erode, kernel, StructuringElement};
pub use label::label;
pub use skeleton::{skeletonize, skeletonize_lee};

/// Pixel connectivity for labelling.
/// Pixel connectivity for labelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connectivity {
    /// Edge neighbours only (scikit-image `connectivity=1`).
    Four,
    /// Edge and corner neighbours (scikit-image `connectivity=2`, OpenCV's default).
    Eight,
}

#[cfg(test)]
mod tests {
    use super::skeleton::THINNING;
    use super::*;
    use crate::image::Mask;
    use proptest::prelude::*;

    #[test]
    fn u_shape_merges_into_one_component_numbered_first() {
        // A U shape whose arms are met first as two provisional labels.
        let m = Mask::from_vec(3, 5, vec![1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1]).unwrap();
        let (l, n) = label(&m, Connectivity::Four);
        assert_eq!(n, 2);
        assert_eq!(l.as_slice(), &[1, 0, 1, 0, 2, 1, 0, 1, 0, 2, 1, 1, 1, 0, 2]);
    }

    fn mask_strategy() -> impl Strategy<Value = Mask> {
        (1usize..14, 1usize..14).prop_flat_map(|(h, w)| {
            (
                proptest::collection::vec(prop_oneof![3 => Just(0u8), 1 => Just(1u8)], h * w),
                Just((h, w)),
            )
                .prop_map(|(v, (h, w))| Mask::from_vec(h, w, v).unwrap())
        })
    }

    fn brute_force_sq_edt(m: &Mask) -> Vec<u32> {
        let (h, w) = m.shape();
        let feats: Vec<(i64, i64)> = (0..h)
            .flat_map(|r| (0..w).map(move |c| (r, c)))
            .filter(|&(r, c)| m.get(r, c) != 0)
            .map(|(r, c)| (r as i64, c as i64))
            .collect();
        (0..h)
            .flat_map(|r| (0..w).map(move |c| (r as i64, c as i64)))
            .map(|(r, c)| {
                feats
                    .iter()
                    .map(|&(fr, fc)| ((fr - r).pow(2) + (fc - c).pow(2)) as u32)
                    .min()
                    .unwrap_or(NO_FEATURE)
            })
            .collect()
    }

    /// Flood fill from every unvisited pixel in raster order: the reference labelling.
    fn flood_fill_labels(m: &Mask, conn: Connectivity) -> (Vec<u32>, u32) {
        let (h, w) = m.shape();
        let mut out = vec![0u32; h * w];
        let mut n = 0;
        for start in 0..h * w {
            if m.as_slice()[start] == 0 || out[start] != 0 {
                continue;
            }
            n += 1;
            out[start] = n;
            let mut stack = vec![start];
            while let Some(i) = stack.pop() {
                let (r, c) = ((i / w) as i64, (i % w) as i64);
                for dr in -1..=1i64 {
                    for dc in -1..=1i64 {
                        if (dr, dc) == (0, 0) || (conn == Connectivity::Four && dr != 0 && dc != 0)
                        {
                            continue;
                        }
                        let (rr, cc) = (r + dr, c + dc);
                        if rr < 0 || cc < 0 || rr >= h as i64 || cc >= w as i64 {
                            continue;
                        }
                        let j = rr as usize * w + cc as usize;
                        if m.as_slice()[j] != 0 && out[j] == 0 {
                            out[j] = n;
                            stack.push(j);
                        }
                    }
                }
            }
        }
        (out, n)
    }

    fn naive_morph(m: &Mask, se: &StructuringElement, erosion: bool) -> Vec<u8> {
        let (h, w) = m.shape();
        let (ar, ac) = se.anchor();
        let pat = se.pattern();
        let mut out = vec![0u8; h * w];
        for r in 0..h {
            for c in 0..w {
                let mut v = erosion;
                for i in 0..pat.height() {
                    for j in 0..pat.width() {
                        if pat.get(i, j) == 0 {
                            continue;
                        }
                        let (sr, sc) = (
                            r as i64 + i as i64 - ar as i64,
                            c as i64 + j as i64 - ac as i64,
                        );
                        let s = if sr < 0 || sc < 0 || sr >= h as i64 || sc >= w as i64 {
                            erosion
                        } else {
                            m.get(sr as usize, sc as usize) != 0
                        };
                        v = if erosion { v && s } else { v || s };
                    }
                }
                out[r * w + c] = u8::from(v);
            }
        }
        out
    }

    proptest! {
        #[test]
        fn edt_equals_brute_force(m in mask_strategy()) {
            let d = squared_distance_to(&m);
            prop_assert_eq!(d.as_slice().to_vec(), brute_force_sq_edt(&m));
        }

        #[test]
        fn label_equals_flood_fill(m in mask_strategy()) {
            for conn in [Connectivity::Four, Connectivity::Eight] {
                let (l, n) = label(&m, conn);
                let (r, rn) = flood_fill_labels(&m, conn);
                prop_assert_eq!(n, rn);
                prop_assert_eq!(l.as_slice(), r.as_slice());
            }
        }

        #[test]
        fn erosion_and_dilation_equal_the_definition(m in mask_strategy(), n in 1usize..8) {
            let se = kernel(n);
            let (e, d) = (erode(&m, &se), dilate(&m, &se));
            prop_assert_eq!(e.as_slice().to_vec(), naive_morph(&m, &se, true));
            prop_assert_eq!(d.as_slice().to_vec(), naive_morph(&m, &se, false));
        }

        #[test]
        fn wide_morphology_equals_the_definition(
            v in proptest::collection::vec(prop_oneof![4 => Just(0u8), 1 => Just(1u8)], 9 * 150),
            n in 1usize..24,
        ) {
            let m = Mask::from_vec(9, 150, v).unwrap();
            let se = kernel(n);
            let (e, d) = (erode(&m, &se), dilate(&m, &se));
            prop_assert_eq!(e.as_slice().to_vec(), naive_morph(&m, &se, true));
            prop_assert_eq!(d.as_slice().to_vec(), naive_morph(&m, &se, false));
            let c = close(&m, &se);
            prop_assert_eq!(c, erode(&dilate(&m, &se), &se));
        }

        #[test]
        fn skeletons_are_subsets_and_keep_components(m in mask_strategy()) {
            for s in [skeletonize(&m), skeletonize_lee(&m)] {
                prop_assert!(s.as_slice().iter().zip(m.as_slice()).all(|(&a, &b)| a <= b));
            }
            // Lee's thinning preserves topology: the number of 8-components is unchanged.
            let lee = skeletonize_lee(&m);
            prop_assert_eq!(label(&lee, Connectivity::Eight).1, label(&m, Connectivity::Eight).1);
        }
    }

    #[test]
    fn edt_of_a_large_sparse_mask_equals_brute_force() {
        // Large enough for the parallel row pass.
        let (h, w) = (300usize, 260usize);
        let pts = [
            (0, 0),
            (17, 250),
            (150, 3),
            (299, 259),
            (120, 130),
            (121, 131),
            (260, 40),
        ];
        let m = Mask::from_fn(h, w, |r, c| pts.contains(&(r, c)));
        let d = squared_distance_to(&m);
        for r in (0..h).step_by(7) {
            for c in 0..w {
                let want = pts
                    .iter()
                    .map(|&(pr, pc)| (r.abs_diff(pr).pow(2) + c.abs_diff(pc).pow(2)) as u32)
                    .min()
                    .unwrap();
                assert_eq!(d.get(r, c), want, "({r}, {c})");
            }
        }
    }

    #[test]
    fn edt_of_empty_mask_is_no_feature() {
        let d = squared_distance_to(&Mask::zeros(3, 2));
        assert!(d.as_slice().iter().all(|&v| v == NO_FEATURE));
    }

    #[test]
    fn kernel_20_is_opencv_ellipse() {
        let k = kernel(20);
        assert_eq!(k.anchor(), (10, 10));
        // Row 0 (dy = -10) is the single anchor column, row 10 is full width.
        let row = |i: usize| k.pattern().row(i).to_vec();
        assert_eq!(row(0).iter().filter(|&&v| v == 1).count(), 1);
        assert_eq!(row(0)[10], 1);
        assert!(row(10).iter().all(|&v| v == 1));
        // dy = -6: dx = round(10 * sqrt(64/100)) = 8 → columns 2..=18.
        assert_eq!(row(4).iter().position(|&v| v == 1), Some(2));
        assert_eq!(row(4).iter().rposition(|&v| v == 1), Some(18));
    }

    #[test]
    fn zhang_skeleton_of_scikit_image_example_ellipse() {
        // scikit-image's own docstring example: (1/3)(r-4)² + (c-4)² < 9 on a 9×9 grid thins
        // to column 4, rows 3..=6.
        let m = Mask::from_fn(9, 9, |r, c| {
            let (r, c) = (r as f64 - 4.0, c as f64 - 4.0);
            r * r / 3.0 + c * c < 9.0
        });
        let s = skeletonize(&m);
        let expected = Mask::from_fn(9, 9, |r, c| c == 4 && (3..=6).contains(&r));
        assert_eq!(s, expected);
    }

    #[test]
    fn thinning_table_keeps_isolated_and_end_pixels() {
        assert_eq!(THINNING[0], 0);
        for k in 0..8 {
            assert_eq!(THINNING[1 << k], 0, "end point {k}");
        }
        // A 2×2 block is never erased completely.
        let m = Mask::from_vec(2, 2, vec![1; 4]).unwrap();
        assert!(skeletonize(&m).count() > 0);
        assert!(skeletonize_lee(&m).count() > 0);
    }

    #[test]
    fn lee_skeleton_of_a_bar_is_a_line() {
        let m = Mask::from_fn(7, 20, |r, c| (1..6).contains(&r) && (2..18).contains(&c));
        let s = skeletonize_lee(&m);
        assert!(s.count() >= 10);
        // One pixel thick: no 2×2 block of skeleton pixels.
        for r in 0..6 {
            for c in 0..19 {
                let block = s.get(r, c) + s.get(r + 1, c) + s.get(r, c + 1) + s.get(r + 1, c + 1);
                assert!(block < 4);
            }
        }
    }
}
