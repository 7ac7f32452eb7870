//! Label images as DeLTA 3 draws them: OpenCV's filled contours (`drawContours(…, FILLED)`,
//! `fillPoly`), the external contours of a mask in OpenCV's order, DeLTA's cell order
//! (`utils.cells_in_frame`) and its contour-based label resizing (`imgops.resize_labels`).
//!
//! DeLTA's mother-machine pipeline segments and tracks a chamber at the models' size (256 × 32)
//! and brings the labels back to the chamber's size by rescaling each cell's *contour* and
//! filling the rescaled polygon, so the exact pixels of its label stacks depend on how OpenCV
//! rasterises a polygon:
//!
//! * every edge is drawn as an 8-connected Bresenham line (OpenCV's `LineIterator`, walked from
//!   its left end; a vertical edge from its first point);
//! * the inside is filled scan line by scan line, from the top vertex row to the row before the
//!   bottom vertex row: the edges crossing a row (`y0 ≤ y < y1`, horizontal edges skipped) are
//!   sorted by their x, in 16.16 fixed point (the upper end's x, then `Δx / Δy` truncated, added
//!   per row), paired left to right (even–odd), and each pair fills the pixels from
//!   `⌈x_left⌉` to `⌊x_right⌋`.
//!
//! This is OpenCV's `CollectPolyEdges` / `FillEdgeCollection` (LINE_8, no shift) for integer
//! vertices; checked pixel for pixel against `cv2.drawContours` of OpenCV 5.1 and DeLTA 3's
//! `resize_labels` on random polygons and label images (the test
//! `fill_polygon_resize_labels_and_centroid_equal_delta3s` in `tests/tracking_delta.rs`).
//! Vertices outside the plane are drawn as if the plane were unbounded and then clipped, which
//! OpenCV does slightly differently (it clips each edge first); DeLTA only draws contours that
//! lie inside.

use std::collections::BTreeMap;

use deltacell_data::{Mask, Plane};

use crate::contour::{trace_outer, Point};

/// OpenCV's fixed point: 16 fractional bits.
const XY_SHIFT: u32 = 16;

/// Sets the pixels of an 8-connected line from `a` to `b` (`[x, y]`) as OpenCV's `Line`
/// (`LINE_8`) does; pixels outside the plane are skipped.
fn draw_line<T: Copy>(plane: &mut Plane<T>, a: Point, b: Point, value: T) {
    let (h, w) = (plane.height() as i64, plane.width() as i64);
    // OpenCV walks from left to right (only when the line goes left does it swap the ends).
    let (p, q) = if b[0] < a[0] { (b, a) } else { (a, b) };
    let (mut x, mut y) = (i64::from(p[0]), i64::from(p[1]));
    let dx = i64::from(q[0]) - x;
    let mut dy = i64::from(q[1]) - y;
    let sy = if dy < 0 {
        dy = -dy;
        -1
    } else {
        1
    };
    let vertical = dy > dx;
    let (major, minor) = if vertical { (dy, dx) } else { (dx, dy) };
    let mut err = major - 2 * minor;
    for i in 0..=major {
        if x >= 0 && y >= 0 && x < w && y < h {
            plane.row_mut(y as usize)[x as usize] = value;
        }
        if i == major {
            break;
        }
        let diagonal = err < 0;
        err += -2 * minor + if diagonal { 2 * major } else { 0 };
        if vertical {
            y += sy;
            if diagonal {
                x += 1;
            }
        } else {
            x += 1;
            if diagonal {
                y += sy;
            }
        }
    }
}

/// Fills the polygon `contour` (`[x, y]` vertices, closed), shifted by `offset` = `(dx, dy)`,
/// with `value`, as `cv2.drawContours(plane, [contour], 0, value, thickness=cv2.FILLED,
/// offset=offset)` does (see the module docs): its outline included, even–odd inside.
///
/// ```
/// use deltacell_analysis::labels::fill_contour;
/// use deltacell_data::Plane;
/// let mut p = Plane::filled(4, 5, 0u16);
/// // A triangle: (0, 0), (4, 0), (0, 3).
/// fill_contour(&mut p, &[[0, 0], [4, 0], [0, 3]], (0, 0), 7);
/// assert_eq!(p.as_slice(), &[
///     7, 7, 7, 7, 7,
///     7, 7, 7, 7, 0,
///     7, 7, 7, 0, 0,
///     7, 0, 0, 0, 0,
/// ]);
/// ```
pub fn fill_contour<T: Copy>(
    plane: &mut Plane<T>,
    contour: &[Point],
    offset: (i32, i32),
    value: T,
) {
    let n = contour.len();
    if n == 0 {
        return;
    }
    let shifted = |p: Point| [p[0] + offset.0, p[1] + offset.1];
    // (y0, y1, x at y0 in 16.16, dx per row)
    let mut edges: Vec<(i64, i64, i64, i64)> = Vec::with_capacity(n);
    let mut p0 = shifted(contour[n - 1]);
    for &v in contour {
        let p1 = shifted(v);
        draw_line(plane, p0, p1, value);
        if p0[1] != p1[1] {
            let x0 = i64::from(p0[0]) << XY_SHIFT;
            let x1 = i64::from(p1[0]) << XY_SHIFT;
            let (y0, y1) = (i64::from(p0[1]), i64::from(p1[1]));
            // C++'s integer division truncates towards zero, as Rust's does.
            let dx = (x1 - x0) / (y1 - y0);
            edges.push(if y0 < y1 {
                (y0, y1, x0, dx)
            } else {
                (y1, y0, x1, dx)
            });
        }
        p0 = p1;
    }
    if edges.len() < 2 {
        return;
    }
    let (h, w) = (plane.height() as i64, plane.width() as i64);
    let y_min = edges.iter().map(|e| e.0).min().unwrap_or(0);
    let y_max = edges.iter().map(|e| e.1).max().unwrap_or(0).min(h);
    let mut xs: Vec<i64> = Vec::with_capacity(edges.len());
    for y in y_min.max(0)..y_max {
        xs.clear();
        xs.extend(
            edges
                .iter()
                .filter(|e| e.0 <= y && y < e.1)
                .map(|e| e.2 + (y - e.0) * e.3),
        );
        xs.sort_unstable();
        for pair in xs.chunks_exact(2) {
            let x1 = ((pair[0] + (1 << XY_SHIFT) - 1) >> XY_SHIFT).max(0);
            let x2 = (pair[1] >> XY_SHIFT).min(w - 1);
            if x1 < w && x2 >= 0 && x1 <= x2 {
                let row = plane.row_mut(y as usize);
                for px in &mut row[x1 as usize..=x2 as usize] {
                    *px = value;
                }
            }
        }
    }
}

/// The pixels outside every object of `mask` (nonzero = object): the background reachable
/// from the plane's border through 4-connected background pixels (objects are 8-connected).
fn outside(mask: &[u8], h: usize, w: usize) -> Vec<bool> {
    let mut seen = vec![false; h * w];
    let mut stack = Vec::new();
    let push = |i: usize, seen: &mut Vec<bool>, stack: &mut Vec<usize>| {
        if mask[i] == 0 && !seen[i] {
            seen[i] = true;
            stack.push(i);
        }
    };
    for c in 0..w {
        push(c, &mut seen, &mut stack);
        push((h - 1) * w + c, &mut seen, &mut stack);
    }
    for r in 0..h {
        push(r * w, &mut seen, &mut stack);
        push(r * w + w - 1, &mut seen, &mut stack);
    }
    while let Some(i) = stack.pop() {
        let (r, c) = (i / w, i % w);
        if r > 0 {
            push(i - w, &mut seen, &mut stack);
        }
        if r + 1 < h {
            push(i + w, &mut seen, &mut stack);
        }
        if c > 0 {
            push(i - 1, &mut seen, &mut stack);
        }
        if c + 1 < w {
            push(i + 1, &mut seen, &mut stack);
        }
    }
    seen
}

/// The external contours of `mask` (`h × w`, row-major, nonzero = object) in OpenCV's order
/// (`cv2.findContours(mask, RETR_EXTERNAL, CHAIN_APPROX_NONE)`): one per 8-connected object
/// that is not inside another one's hole, the object found last in a raster scan first.
///
/// ```
/// use deltacell_analysis::labels::external_contours;
/// let m = [1u8, 0, 0, 0, 0, 1];
/// assert_eq!(external_contours(&m, 2, 3), vec![vec![[2, 1]], vec![[0, 0]]]);
/// ```
pub fn external_contours(mask: &[u8], h: usize, w: usize) -> Vec<Vec<Point>> {
    if h == 0 || w == 0 {
        return Vec::new();
    }
    let out = outside(mask, h, w);
    // Objects with their holes filled: everything that is not outside.
    let filled: Vec<u8> = out.iter().map(|&o| u8::from(!o)).collect();
    let mut seen = vec![false; h * w];
    let mut starts = Vec::new();
    let mut stack = Vec::new();
    for i in 0..h * w {
        if filled[i] == 0 || seen[i] {
            continue;
        }
        starts.push(i);
        seen[i] = true;
        stack.push(i);
        while let Some(j) = stack.pop() {
            let (r, c) = ((j / w) as i64, (j % w) as i64);
            for dr in -1..=1i64 {
                for dc in -1..=1i64 {
                    let (nr, nc) = (r + dr, c + dc);
                    if nr < 0 || nc < 0 || nr >= h as i64 || nc >= w as i64 {
                        continue;
                    }
                    let k = nr as usize * w + nc as usize;
                    if filled[k] != 0 && !seen[k] {
                        seen[k] = true;
                        stack.push(k);
                    }
                }
            }
        }
    }
    starts
        .iter()
        .rev()
        .map(|&i| trace_outer(&filled, h, w, (i / w, i % w)))
        .collect()
}

/// DeLTA's `cells_in_frame`: the cell ids of a label image, ordered by their first pixel in a
/// raster scan (top row first, then left column).
///
/// ```
/// use deltacell_analysis::labels::cells_in_frame;
/// use deltacell_data::Plane;
/// let l = Plane::from_vec(2, 3, vec![0u16, 5, 5, 2, 2, 0]).unwrap();
/// assert_eq!(cells_in_frame(&l), vec![5, 2]);
/// ```
pub fn cells_in_frame(labels: &Plane<u16>) -> Vec<u16> {
    let mut seen = std::collections::BTreeSet::new();
    let mut order = Vec::new();
    for &l in labels.as_slice() {
        if l != 0 && seen.insert(l) {
            order.push(l);
        }
    }
    order
}

/// Bounding boxes `(row0, row1, col0, col1)` (inclusive) of every cell of a label image.
fn boxes(labels: &Plane<u16>) -> BTreeMap<u16, (usize, usize, usize, usize)> {
    crate::features::label_boxes(labels.as_slice(), labels.width())
}

/// The contour of cell `id` whose bounding box is `bb`, scanning only that box grown by one
/// pixel.
fn contour_in_box(
    labels: &Plane<u16>,
    id: u16,
    bb: (usize, usize, usize, usize),
) -> Option<Vec<Point>> {
    let (h, w) = labels.shape();
    let (r0, c0) = (bb.0.saturating_sub(1), bb.2.saturating_sub(1));
    let (r1, c1) = ((bb.1 + 1).min(h - 1), (bb.3 + 1).min(w - 1));
    let (ch, cw) = (r1 - r0 + 1, c1 - c0 + 1);
    let m: Vec<u8> = (0..ch * cw)
        .map(|k| u8::from(labels.get(r0 + k / cw, c0 + k % cw) == id))
        .collect();
    crate::contour::first_contour(&m, ch, cw).map(|c| {
        c.into_iter()
            .map(|p| [p[0] + c0 as i32, p[1] + r0 as i32])
            .collect()
    })
}

/// The contour DeLTA takes for cell `id` of a label image (`find_contours(labels == id)[0]`,
/// see [`crate::contour::first_contour`]), in the plane's coordinates; `None` when the cell has
/// no pixel. Only the cell's bounding box (grown by one pixel) is traced.
///
/// ```
/// use deltacell_analysis::labels::cell_contour;
/// use deltacell_data::Plane;
/// let l = Plane::from_vec(3, 3, vec![0u16, 0, 0, 0, 7, 7, 0, 7, 7]).unwrap();
/// assert_eq!(cell_contour(&l, 7), Some(vec![[1, 1], [1, 2], [2, 2], [2, 1]]));
/// ```
pub fn cell_contour(labels: &Plane<u16>, id: u16) -> Option<Vec<Point>> {
    let bb = boxes(labels).remove(&id)?;
    contour_in_box(labels, id, bb)
}

/// DeLTA's `cells_in_frame(labels, return_contours=True)`: every cell's id and contour (as
/// [`cell_contour`]), in [`cells_in_frame`] order, in one pass over the plane.
///
/// ```
/// use deltacell_analysis::labels::cell_contours;
/// use deltacell_data::Plane;
/// let l = Plane::from_vec(2, 3, vec![0u16, 5, 5, 2, 0, 0]).unwrap();
/// assert_eq!(cell_contours(&l), vec![(5, vec![[1, 0], [2, 0]]), (2, vec![[0, 1]])]);
/// ```
pub fn cell_contours(labels: &Plane<u16>) -> Vec<(u16, Vec<Point>)> {
    let bb = boxes(labels);
    cells_in_frame(labels)
        .into_iter()
        .filter_map(|id| Some((id, contour_in_box(labels, id, *bb.get(&id)?)?)))
        .collect()
}

/// DeLTA's `imgops.resize_labels(labels, shape)` (without `prevent_touching`, as its pipeline
/// calls it): every external contour of `labels > 0` is scaled by `(out − 1) / (in − 1)` along
/// each axis, rounded half to even, and filled ([`fill_contour`]) with the label found at the
/// contour's first point, in OpenCV's contour order (a later contour overwrites an earlier one
/// where they overlap, so a small cell can vanish). An axis of one pixel is not scaled (all its
/// points go to 0; DeLTA would divide by zero).
///
/// ```
/// use deltacell_analysis::labels::resize_labels;
/// use deltacell_data::Plane;
/// // A 2 × 2 cell in a 4 × 4 plane, doubled (7 × 7: factors (7 − 1) / (4 − 1) = 2).
/// let mut l = Plane::filled(4, 4, 0u16);
/// for (r, c) in [(1, 1), (1, 2), (2, 1), (2, 2)] {
///     l.row_mut(r)[c] = 3;
/// }
/// let big = resize_labels(&l, (7, 7));
/// assert_eq!(big.as_slice().iter().filter(|&&v| v == 3).count(), 9);
/// assert_eq!(big.get(2, 2), 3);
/// assert_eq!(big.get(4, 4), 3);
/// assert_eq!(big.get(5, 5), 0);
/// ```
pub fn resize_labels(labels: &Plane<u16>, shape: (usize, usize)) -> Plane<u16> {
    let (h, w) = labels.shape();
    let mut out = Plane::filled(shape.0, shape.1, 0u16);
    if h == 0 || w == 0 || shape.0 == 0 || shape.1 == 0 {
        return out;
    }
    let mask: Vec<u8> = labels
        .as_slice()
        .iter()
        .map(|&l| u8::from(l != 0))
        .collect();
    // A one-pixel axis has no scale (DeLTA would divide by zero): everything goes to 0.
    let factor = |to: usize, from: usize| {
        if from < 2 {
            0.0
        } else {
            (to as f64 - 1.0) / (from as f64 - 1.0)
        }
    };
    let (fx, fy) = (factor(shape.1, w), factor(shape.0, h));
    for contour in external_contours(&mask, h, w) {
        let color = labels.get(contour[0][1] as usize, contour[0][0] as usize);
        let scaled: Vec<Point> = contour
            .iter()
            .map(|p| {
                [
                    (f64::from(p[0]) * fx).round_ties_even() as i32,
                    (f64::from(p[1]) * fy).round_ties_even() as i32,
                ]
            })
            .collect();
        fill_contour(&mut out, &scaled, (0, 0), color);
    }
    out
}

/// The filled region of `contour`, shifted by `offset` = `(dx, dy)`, as a mask of `shape`
/// (`height, width`): [`fill_contour`] with value 1.
///
/// ```
/// use deltacell_analysis::labels::contour_mask;
/// let m = contour_mask(&[[0, 0], [0, 1], [1, 1], [1, 0]], (3, 3), (1, 1));
/// assert_eq!(m.as_slice(), &[0, 0, 0, 0, 1, 1, 0, 1, 1]);
/// ```
pub fn contour_mask(contour: &[Point], shape: (usize, usize), offset: (i32, i32)) -> Mask {
    let mut p = Plane::filled(shape.0, shape.1, 0u8);
    fill_contour(&mut p, contour, offset, 1);
    Mask::from_plane(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_walk_from_left_to_right_with_opencvs_error_term() {
        let mut p = Plane::filled(2, 3, 0u8);
        draw_line(&mut p, [2, 1], [0, 0], 1);
        // dx 2, dy 1: err = 0 → a straight step first, then the diagonal one.
        assert_eq!(p.as_slice(), &[1, 1, 0, 0, 0, 1]);
        let mut v = Plane::filled(3, 1, 0u8);
        draw_line(&mut v, [0, 2], [0, 0], 1);
        assert_eq!(v.as_slice(), &[1, 1, 1]);
    }

    #[test]
    fn filling_a_traced_cell_gives_back_the_cell_with_its_holes() {
        #[rustfmt::skip]
        let m: Vec<u8> = vec![
            0, 1, 1, 1, 0, 0,
            1, 1, 0, 1, 1, 0,
            1, 0, 0, 0, 1, 1,
            0, 1, 1, 1, 1, 0,
            0, 0, 1, 0, 0, 0,
        ];
        let contours = external_contours(&m, 5, 6);
        assert_eq!(contours.len(), 1);
        let filled = contour_mask(&contours[0], (5, 6), (0, 0));
        let out = outside(&m, 5, 6);
        for (i, (&f, &o)) in filled.as_slice().iter().zip(&out).enumerate() {
            assert_eq!(f != 0, !o, "pixel {i}");
        }
    }

    #[test]
    fn cells_in_frame_and_cell_contour() {
        let l = Plane::from_vec(3, 3, vec![0u16, 0, 4, 9, 9, 4, 0, 0, 0]).unwrap();
        assert_eq!(cells_in_frame(&l), vec![4, 9]);
        assert_eq!(cell_contour(&l, 9), Some(vec![[0, 1], [1, 1]]));
        assert_eq!(cell_contour(&l, 3), None);
    }
}
