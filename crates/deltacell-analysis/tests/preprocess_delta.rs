//! DeLTA 3's pre-processing (rotation, drift, chambers) against DeLTA's own test images and the
//! values DeLTA stored for position 1 of its mother-machine movie
//! (`../shared/data/delta-3.0.0a6/`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use deltacell_analysis::chambers::{boxes_from_logits, boxes_from_mask, roi_boxes, RoiParams};
use deltacell_analysis::drift::{correct, DriftTemplate};
use deltacell_analysis::results::{CropBox, PositionResults};
use deltacell_analysis::rotation::{deskew, rotate};
use deltacell_data::io::{read_image, Rescale};
use deltacell_data::{Mask, Plane};

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join("../shared")
        .join(rel)
}

const DATA: &str = "data/delta-3.0.0a6";
const EXPECTED: &str =
    "data/delta-3.0.0a6/movie_mothermachine_tif/expected_results/Position000001.nc";

/// A frame as DeLTA reads it: `float32`, 16-bit values divided by 65535.
fn frame(rel: &str) -> Plane<f32> {
    read_image(shared(&format!("{DATA}/{rel}")), Rescale::DtypeMax)
        .unwrap()
        .into_plane()
}

fn mm_frame(t: usize) -> Plane<f32> {
    frame(&format!(
        "movie_mothermachine_tif/Position01Channel01Frames{t:06}.tif"
    ))
}

/// DeLTA's `test_deskew`: the image turned back to straight gives |deskew| ≤ 0.25°, and turned
/// by any of 30 angles in [−3°, 3°] gives that angle back within 0.25°.
#[test]
fn deskew_recovers_known_angles() {
    for (name, angle0) in [("angle_+0.53.tif", 0.53f64), ("angle_-0.32.tif", -0.32)] {
        let image0 = frame(&format!("images/{name}"));
        let straight = deskew(&rotate(&image0, -angle0)).unwrap();
        assert!(straight.abs() <= 0.25, "{name}: {straight}");
        let start = Instant::now();
        let mut worst = 0f64;
        for k in 0..30 {
            // np.linspace(-3, 3, 30)
            let angle = -3.0 + k as f64 * (6.0 / 29.0);
            let found = deskew(&rotate(&image0, angle - angle0)).unwrap();
            let err = (found + angle).abs();
            worst = worst.max(err);
            assert!(err <= 0.25, "{name}: turned by {angle}°, deskew {found}°");
        }
        eprintln!(
            "{name}: worst error {worst:.3}° over 30 angles, {:.1} ms per rotate + deskew",
            start.elapsed().as_secs_f64() * 1e3 / 30.0
        );
    }
}

/// Position 1's first frame: DeLTA found −0.5° (one of its Hough bins, 0.25° apart).
#[test]
fn deskew_of_mothermachine_position_1() {
    let expected = PositionResults::read(shared(EXPECTED)).unwrap();
    let found = deskew(&mm_frame(1)).unwrap();
    assert!(
        (found - expected.rotate).abs() < 0.05,
        "deskew {found}, DeLTA {}",
        expected.rotate
    );
}

/// Frames 1 to 10 of position 1, rotated as DeLTA did, matched against the template above
/// DeLTA's chamber boxes: the drift DeLTA stored, exactly.
#[test]
fn drift_of_mothermachine_position_1() {
    let expected = PositionResults::read(shared(EXPECTED)).unwrap();
    let boxes: Vec<CropBox> = expected.rois.iter().map(|r| r.bbox).collect();
    assert_eq!(boxes.len(), 18);
    let reference = rotate(&mm_frame(1), expected.rotate);
    let template = DriftTemplate::new(&boxes, &reference, false).unwrap();
    // max ytl = 83, cut (13, 17): rows 13..70, columns 17..679.
    assert_eq!(template.template().shape(), (57, 662));
    let mut found = Vec::new();
    let mut seconds = 0.0;
    for t in 1..=10 {
        let rotated = rotate(&mm_frame(t), expected.rotate);
        let start = Instant::now();
        found.push(template.drift(&rotated).unwrap());
        seconds += start.elapsed().as_secs_f64();
    }
    eprintln!(
        "drift: {:.1} ms per 520×696 frame (template 57×662, 464×35 placements)",
        seconds * 100.0
    );
    assert_eq!(found, expected.drift);
    // Correcting the last frame by its drift brings the template region back in place: the
    // corrected frame matches the reference with no drift.
    let last = rotate(&mm_frame(10), expected.rotate);
    let corrected = correct(&last, found[9]);
    assert_eq!(template.drift(&corrected).unwrap(), (0, 0));
}

/// A synthetic logits image with known chambers, as the ROI model would give at frame size.
fn synthetic_logits() -> Plane<f32> {
    // Chambers 14 wide, 150 tall, every 38 pixels from x = 30, tops at y = 80 + k % 3.
    Plane::from_fn(260, 300, |r, c| {
        for k in 0..7usize {
            let (x0, y0) = (30 + 38 * k, 80 + k % 3);
            if (x0..x0 + 14).contains(&c) && (y0..y0 + 150).contains(&r) {
                return 4.0;
            }
        }
        // A small blob (6×6 = 36 pixels, under min_area) and noise-like specks.
        if (10..16).contains(&r) && (10..16).contains(&c) {
            return 4.0;
        }
        if (r * 7 + c * 13) % 97 == 0 {
            1.0
        } else {
            -4.0
        }
    })
}

/// Boxes of the synthetic chambers, checked against DeLTA's own functions in the DeLTA 3 venv:
/// `imgops.postprocess(logits, min_size=500)`, `imgops.find_contours`, `cv2.boundingRect` and
/// the margins and sort of `Position.find_roi_boxes` (by hand, `python -c`, OpenCV 5.1), which
/// gave these seven boxes in this order.
#[test]
fn chamber_boxes_of_synthetic_logits() {
    let logits = synthetic_logits();
    let boxes = boxes_from_logits(&logits, 500).unwrap();
    let want: Vec<CropBox> = (0..7i64)
        .map(|k| CropBox {
            xtl: 30 + 38 * k,
            ytl: 80 + k % 3 - 7,
            xbr: 30 + 38 * k + 14,
            ybr: 80 + k % 3 + 157,
        })
        .collect();
    assert_eq!(boxes, want);
    // The same through the model closure: the reference min-max scaled, resized to 512×512,
    // predicted, and the logits resized back.
    let params = RoiParams::default();
    let reference = logits.map(|v| if v > 3.0 { 0.9 } else { 0.2 });
    let mut calls = 0;
    let via_model = roi_boxes(&reference, &params, |windows| {
        calls += 1;
        assert_eq!(windows.len(), 1);
        assert_eq!(windows[0].shape(), (512, 512));
        Ok(windows
            .iter()
            .map(|w| w.map(|v| if v > 0.5 { 4.0 } else { -4.0 }))
            .collect())
    })
    .unwrap();
    assert_eq!(calls, 1);
    // DeLTA's `Position.find_roi_boxes(reference, config)` with the same stand-in model
    // (`predict` = `where(x > 0.5, 4, -4)`, target 512×512, min_area 500, factor 4; DeLTA 3
    // venv, by hand) also sees one 512×512 window and gives exactly the same seven boxes.
    assert_eq!(via_model, want);
    // Nothing above 0: a clear error.
    let none = logits.map(|_| -1.0f32);
    let err = boxes_from_logits(&none, 500).unwrap_err();
    assert!(err.to_string().contains("no chamber"), "{err}");
}

/// Chambers stacked vertically are sorted by their top; margins truncate (int()).
#[test]
fn chamber_boxes_sort_along_the_spread_axis() {
    let m = Mask::from_fn(200, 60, |r, c| {
        ((10..29).contains(&r) || (150..169).contains(&r) || (80..99).contains(&r))
            && (5 + r / 50..55).contains(&c)
    });
    let b = boxes_from_mask(&m);
    let tops: Vec<i64> = b.iter().map(|b| b.ytl).collect();
    // Height 19: int(0.95) = 0 above, int(19.95) = 19 below.
    assert_eq!(tops, vec![10, 80, 150]);
    assert!(b.iter().all(|b| b.ybr - b.ytl == 19));
}

/// Equal tops and equal spreads: the sort keeps OpenCV's contour order (the object found last
/// in a raster scan first). DeLTA's functions (OpenCV 5.1, by hand) list these contours as
/// `(11, 20)`, `(20, 2)`, `(2, 2)` (x, y of their rectangles); sorted by `ytl`, the two at the
/// top keep that order.
#[test]
fn chamber_boxes_ties_keep_opencv_order() {
    let m = Mask::from_fn(30, 30, |r, c| {
        ((2..8).contains(&r) && ((20..26).contains(&c) || (2..8).contains(&c)))
            || ((20..26).contains(&r) && (11..17).contains(&c))
    });
    let xs: Vec<i64> = boxes_from_mask(&m).iter().map(|b| b.xtl).collect();
    assert_eq!(xs, vec![20, 2, 11]);
}

/// Position 2 (no stored results) and the whole-frame template, against DeLTA's own functions
/// run by hand in the DeLTA 3 venv (OpenCV 5.1): `imgops.deskew(frame 1)` (−0.5° for both
/// positions), then `imgops.rotate` of frames 1–10, `imgops.drift_template([CroppingBox(xtl=20,
/// ytl=83, xbr=44, ybr=291)], reference, whole_frame=…)` and `imgops.compute_drift`. These drifts
/// are DeLTA's output, pasted.
#[test]
fn drift_of_both_positions_matches_delta_functions() {
    let chamber = [CropBox {
        xtl: 20,
        ytl: 83,
        xbr: 44,
        ybr: 291,
    }];
    type Case = (usize, bool, [(i64, i64); 10]);
    let cases: [Case; 3] = [
        (
            1,
            true,
            [
                (0, 0),
                (1, -1),
                (2, -3),
                (2, -5),
                (3, -5),
                (3, -6),
                (3, -6),
                (3, -7),
                (3, -7),
                (3, -8),
            ],
        ),
        (
            2,
            false,
            [
                (0, 0),
                (2, -2),
                (2, -3),
                (2, -4),
                (2, -6),
                (3, -6),
                (3, -7),
                (3, -7),
                (3, -7),
                (3, -8),
            ],
        ),
        (
            2,
            true,
            [
                (0, 0),
                (2, -2),
                (1, -3),
                (2, -4),
                (2, -6),
                (3, -6),
                (3, -7),
                (3, -7),
                (3, -7),
                (3, -8),
            ],
        ),
    ];
    for (position, whole, want) in cases {
        let frames: Vec<Plane<f32>> = (1..=10)
            .map(|t| {
                frame(&format!(
                    "movie_mothermachine_tif/Position{position:02}Channel01Frames{t:06}.tif"
                ))
            })
            .collect();
        let angle = deskew(&frames[0]).unwrap();
        assert_eq!(angle, -0.49999999999999434, "position {position}");
        let reference = rotate(&frames[0], angle);
        let template = DriftTemplate::new(&chamber, &reference, whole).unwrap();
        let found: Vec<(i64, i64)> = frames
            .iter()
            .map(|f| template.drift(&rotate(f, angle)).unwrap())
            .collect();
        assert_eq!(found, want, "position {position}, whole frame {whole}");
    }
}
