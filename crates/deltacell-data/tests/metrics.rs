//! Metrics on hand-made masks whose answers are known.

use deltacell_data::metrics::{
    compare_track, evaluate_seg, instances, ImageScores, SegEvaluation, TrackScores,
};
use deltacell_data::{Labels, Mask, Plane};

/// A 20×30 label image with rectangular cells given as (label, r0, r1, c0, c1) (end exclusive).
fn cells(rects: &[(u32, usize, usize, usize, usize)]) -> Labels {
    Labels::from_plane(Plane::from_fn(20, 30, |r, c| {
        rects
            .iter()
            .find(|&&(_, r0, r1, c0, c1)| (r0..r1).contains(&r) && (c0..c1).contains(&c))
            .map_or(0, |x| x.0)
    }))
}

fn truth() -> Labels {
    // Three 4×6 cells (24 px each).
    cells(&[(1, 2, 6, 2, 8), (2, 10, 14, 2, 8), (3, 2, 6, 15, 21)])
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn perfect_match() {
    let t = truth();
    let s = evaluate_seg(&t, &t).unwrap().scores;
    for v in [
        s.pixel_iou,
        s.dice,
        s.precision_50,
        s.recall_50,
        s.f1_50,
        s.ap_50,
        s.ap_75,
        s.ap_90,
        s.aji,
    ] {
        assert_eq!(v, 1.0);
    }
    // Label numbers do not matter.
    let permuted = Labels::from_plane(t.map(|v| [0, 7, 3, 9][v as usize]));
    assert_eq!(evaluate_seg(&permuted, &t).unwrap().scores.ap_90, 1.0);
}

#[test]
fn one_missed_cell() {
    let t = truth();
    let p = cells(&[(1, 2, 6, 2, 8), (2, 10, 14, 2, 8)]);
    let m = evaluate_seg(&p, &t).unwrap();
    let s = &m.scores;
    assert_eq!(s.precision_50, 1.0);
    assert!(close(s.recall_50, 2.0 / 3.0));
    assert!(close(s.f1_50, 0.8));
    assert!(close(s.ap_50, 2.0 / 3.0));
    assert!(close(s.pixel_iou, 48.0 / 72.0));
    assert!(close(s.dice, 96.0 / 120.0));
    assert!(close(s.aji, 48.0 / 72.0));
    // Matched flags follow raster order of first pixels: the missed cell (cols 15..21) is 2nd.
    assert_eq!(m.true_matched, vec![true, false, true]);
}

#[test]
fn one_split_cell() {
    // Cell 1 (rows 2..6, cols 2..8) predicted as two halves of 12 px: IoU 0.5 each.
    let t = truth();
    let p = cells(&[
        (1, 2, 6, 2, 5),
        (4, 2, 6, 5, 8),
        (2, 10, 14, 2, 8),
        (3, 2, 6, 15, 21),
    ]);
    let s = evaluate_seg(&p, &t).unwrap().scores;
    assert_eq!(s.pixel_iou, 1.0);
    // At 0.5 one half matches (IoU exactly 0.5): TP 3, FP 1.
    assert_eq!(
        (
            s.sums.counts[0].tp,
            s.sums.counts[0].fp,
            s.sums.counts[0].fn_
        ),
        (3, 1, 0)
    );
    assert!(close(s.precision_50, 0.75));
    assert_eq!(s.recall_50, 1.0);
    // At 0.75 the split cell is lost: TP 2, FP 2, FN 1.
    assert!(close(s.ap_75, 2.0 / 5.0));
    // AJI: cell 1 pairs with one half (12/24); the other half (12 px) joins the denominator.
    assert!(close(s.aji, (12.0 + 48.0) / (24.0 + 48.0 + 12.0)));
}

#[test]
fn one_merged_cell() {
    // Cells 1 and 3 of a row merged into one prediction spanning both.
    let t = cells(&[(1, 2, 6, 2, 8), (2, 10, 14, 2, 8), (3, 2, 6, 8, 14)]);
    let p = cells(&[(1, 2, 6, 2, 14), (2, 10, 14, 2, 8)]);
    let s = evaluate_seg(&p, &t).unwrap().scores;
    // The merged cell has IoU 24/48 = 0.5 with each: one match at 0.5.
    assert_eq!(
        (
            s.sums.counts[0].tp,
            s.sums.counts[0].fp,
            s.sums.counts[0].fn_
        ),
        (2, 0, 1)
    );
    assert!(close(s.recall_50, 2.0 / 3.0));
    assert_eq!(s.precision_50, 1.0);
    // At 0.75: TP 1, FP 1 (the merged cell), FN 2.
    assert!(close(s.ap_75, 1.0 / 4.0));
    // AJI: both halves pair with the merged cell: (24 + 24 + 24) / (48 + 48 + 24).
    assert!(close(s.aji, 72.0 / 120.0));
}

#[test]
fn pooled_and_json_keys() {
    let t = truth();
    let missed = cells(&[(1, 2, 6, 2, 8), (2, 10, 14, 2, 8)]);
    let ev = SegEvaluation::from_images(vec![
        ImageScores {
            name: "a".into(),
            scores: evaluate_seg(&t, &t).unwrap().scores,
        },
        ImageScores {
            name: "b".into(),
            scores: evaluate_seg(&missed, &t).unwrap().scores,
        },
    ]);
    assert!(close(ev.overall.recall_50, 5.0 / 6.0));
    let v = serde_json::to_value(&ev).unwrap();
    for k in [
        "pixel_iou",
        "dice",
        "precision_50",
        "recall_50",
        "f1_50",
        "ap_50",
        "ap_75",
        "ap_90",
        "aji",
    ] {
        assert!(v[k].is_number(), "{k}");
        assert!(v["per_image"][0][k].is_number(), "{k}");
    }
    assert_eq!(v["per_image"][1]["name"], "b");
}

#[test]
fn binary_masks_become_components() {
    let t = truth();
    let binary = Labels::from_plane(t.map(|v| if v > 0 { 255 } else { 0 }));
    assert_eq!(instances(&binary).max_label(), 3);
    let gappy = Labels::from_plane(t.map(|v| v * 10));
    assert_eq!(instances(&gappy).max_label(), 3);
}

#[test]
fn tracking_comparison() {
    let mask = |rects: &[(usize, usize)]| {
        Mask::from_plane(Plane::from_fn(40, 10, |r, c| {
            u8::from((2..8).contains(&c) && rects.iter().any(|&(a, b)| (a..b).contains(&r)))
        }))
    };
    let div = mask(&[(2, 10), (12, 20)]);
    let one = mask(&[(2, 10)]);
    let empty = mask(&[]);
    let perfect = compare_track("a", &div, &div).unwrap();
    assert!(perfect.correct && perfect.cell_found && perfect.daughter_found == Some(true));
    let missed_daughter = compare_track("b", &one, &div).unwrap();
    assert_eq!(missed_daughter.daughter_found, Some(false));
    assert!(missed_daughter.cell_found && !missed_daughter.correct);
    let false_div = compare_track("c", &div, &one).unwrap();
    assert_eq!(false_div.daughter_found, None);
    let escaped = compare_track("d", &empty, &empty).unwrap();
    assert!(escaped.correct && !escaped.cell_found);
    let s = TrackScores::from_seeds(vec![perfect, missed_daughter, false_div, escaped]);
    // Links: matched 2+1+1 of predicted 2+1+2 and true 2+2+1.
    assert!(close(s.link_precision, 4.0 / 5.0));
    assert!(close(s.link_recall, 4.0 / 5.0));
    // Divisions: predicted in a and c, true in a and b, recovered in a.
    assert!(close(s.division_precision, 0.5));
    assert!(close(s.division_recall, 0.5));
    assert!(close(s.accuracy, 0.5));
    assert!(close(s.daughter_found, 0.5));
    assert_eq!(s.cell_found, 1.0);
}
