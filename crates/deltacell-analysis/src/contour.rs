//! Cell contours as OpenCV's `findContours(mask, RETR_EXTERNAL, CHAIN_APPROX_NONE)` traces
//! them, and the measurements DeLTA takes on them (`contourArea`, `arcLength`).
//!
//! The tracing follows Suzuki and Abe's border following, as OpenCV implements it: the outer
//! border of an 8-connected object starts at its first pixel in a raster scan (top row, left
//! column) and visits every border pixel once per passage, turning around the object with the
//! object on the left in image coordinates (rows down). The start point and the direction matter:
//! DeLTA's poles are the first minimum of a curvature computed along this sequence.

/// A contour point `(x, y)` = `(column, row)`, as OpenCV's.
pub type Point = [i32; 2];

/// Neighbour offsets `(dx, dy)` by OpenCV's chain code: 0 right, 1 up-right, 2 up, … 7
/// down-right (counter-clockwise on screen).
const CODE: [(i32, i32); 8] = [
    (1, 0),
    (1, -1),
    (0, -1),
    (-1, -1),
    (-1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
];

/// The outer border of the object of `mask` (row-major, `height × width`, nonzero = object) whose
/// first pixel in a raster scan is `start = (row, col)`; the pixel left of `start` must be
/// background (or outside). Pixels outside the mask count as background, as OpenCV pads the image.
///
/// ```
/// use deltacell_analysis::contour::trace_outer;
/// // A 2×2 square.
/// let m = [1u8, 1, 1, 1];
/// assert_eq!(trace_outer(&m, 2, 2, (0, 0)), vec![[0, 0], [0, 1], [1, 1], [1, 0]]);
/// ```
pub fn trace_outer(mask: &[u8], height: usize, width: usize, start: (usize, usize)) -> Vec<Point> {
    let on = |x: i32, y: i32| -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < height
            && mask[y as usize * width + x as usize] != 0
    };
    let p0 = [start.1 as i32, start.0 as i32];
    let step = |p: Point, s: usize| [p[0] + CODE[s].0, p[1] + CODE[s].1];
    // First neighbour clockwise from the left (codes 3, 2, 1, … down to 4).
    let s_end = 4usize;
    let mut s = s_end;
    let mut p1;
    loop {
        s = (s + 7) & 7;
        p1 = step(p0, s);
        if on(p1[0], p1[1]) || s == s_end {
            break;
        }
    }
    if s == s_end {
        return vec![p0];
    }
    let mut contour = Vec::new();
    let mut p3 = p0;
    loop {
        // Next object pixel counter-clockwise from the direction we came from.
        let mut p4 = p3;
        let mut found = s;
        for k in 1..=8 {
            let c = (s + k) & 7;
            let q = step(p3, c);
            if on(q[0], q[1]) {
                p4 = q;
                found = c;
                break;
            }
        }
        contour.push(p3);
        if p4 == p0 && p3 == p1 {
            break;
        }
        p3 = p4;
        s = (found + 4) & 7;
    }
    contour
}

/// The contour DeLTA uses for the object(s) of `mask`: `find_contours(mask)[0]`, the outer
/// border of the 8-connected object found last in a raster scan (OpenCV lists later contours
/// first). `None` when the mask is empty. Objects nested in another object's hole are not
/// special-cased (OpenCV's `RETR_EXTERNAL` skips them; cells do not nest).
///
/// ```
/// use deltacell_analysis::contour::first_contour;
/// let m = [1u8, 0, 0, 0, 0, 1];
/// // Two objects: the one found last (bottom right) comes first.
/// assert_eq!(first_contour(&m, 2, 3), Some(vec![[2, 1]]));
/// ```
pub fn first_contour(mask: &[u8], height: usize, width: usize) -> Option<Vec<Point>> {
    // The start of each object is its first raster pixel; find the last object's start by
    // flooding objects in raster order.
    let mut seen = vec![false; mask.len()];
    let mut last_start = None;
    let mut stack = Vec::new();
    for i in 0..mask.len() {
        if mask[i] == 0 || seen[i] {
            continue;
        }
        last_start = Some(i);
        seen[i] = true;
        stack.push(i);
        while let Some(j) = stack.pop() {
            let (r, c) = ((j / width) as i64, (j % width) as i64);
            for dr in -1..=1i64 {
                for dc in -1..=1i64 {
                    let (nr, nc) = (r + dr, c + dc);
                    if nr < 0 || nc < 0 || nr >= height as i64 || nc >= width as i64 {
                        continue;
                    }
                    let k = nr as usize * width + nc as usize;
                    if mask[k] != 0 && !seen[k] {
                        seen[k] = true;
                        stack.push(k);
                    }
                }
            }
        }
    }
    last_start.map(|i| trace_outer(mask, height, width, (i / width, i % width)))
}

/// The area enclosed by a contour through its points (OpenCV's `contourArea`, shoelace formula,
/// absolute value), in square pixels: exact for integer points.
///
/// ```
/// use deltacell_analysis::contour::contour_area;
/// assert_eq!(contour_area(&[[0, 0], [0, 1], [1, 1], [1, 0]]), 1.0);
/// assert_eq!(contour_area(&[[3, 3]]), 0.0);
/// ```
pub fn contour_area(contour: &[Point]) -> f64 {
    let Some(&last) = contour.last() else {
        return 0.0;
    };
    let mut prev = last;
    let mut a = 0.0f64;
    for &p in contour {
        a += f64::from(prev[0]) * f64::from(p[1]) - f64::from(prev[1]) * f64::from(p[0]);
        prev = p;
    }
    (a * 0.5).abs()
}

/// The length of a closed contour (OpenCV's `arcLength(contour, closed=True)`), in pixels: each
/// step's length is computed in single precision, as OpenCV does (a diagonal step counts
/// `sqrtf(2)`), and summed in double precision.
///
/// ```
/// use deltacell_analysis::contour::arc_length;
/// assert_eq!(arc_length(&[[0, 0], [0, 1], [1, 1], [1, 0]]), 4.0);
/// assert_eq!(arc_length(&[[0, 0], [1, 1]]), 2.0 * f64::from(2f32.sqrt()));
/// ```
pub fn arc_length(contour: &[Point]) -> f64 {
    if contour.len() <= 1 {
        return 0.0;
    }
    let mut prev = contour[contour.len() - 1];
    let mut total = 0.0f64;
    for &p in contour {
        let dx = p[0] as f32 - prev[0] as f32;
        let dy = p[1] as f32 - prev[1] as f32;
        total += f64::from((dx * dx + dy * dy).sqrt());
        prev = p;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rectangle_is_traced_counter_clockwise_on_screen_from_its_top_left() {
        // 3 rows × 4 columns, full.
        let m = [1u8; 12];
        let c = trace_outer(&m, 3, 4, (0, 0));
        // Down the left side first, then along the bottom, up the right, back along the top.
        assert_eq!(
            c,
            vec![
                [0, 0],
                [0, 1],
                [0, 2],
                [1, 2],
                [2, 2],
                [3, 2],
                [3, 1],
                [3, 0],
                [2, 0],
                [1, 0]
            ]
        );
        assert_eq!(contour_area(&c), 6.0);
        assert_eq!(arc_length(&c), 10.0);
    }

    #[test]
    fn a_one_pixel_wide_line_is_walked_both_ways() {
        let m = [1u8, 1, 1];
        let c = trace_outer(&m, 1, 3, (0, 0));
        assert_eq!(c, vec![[0, 0], [1, 0], [2, 0], [1, 0]]);
        assert_eq!(contour_area(&c), 0.0);
        assert_eq!(arc_length(&c), 4.0);
    }

    #[test]
    fn a_diagonal_step_and_a_concavity() {
        // .X
        // XX
        let m = [0u8, 1, 1, 1];
        let c = trace_outer(&m, 2, 2, (0, 1));
        assert_eq!(c, vec![[1, 0], [0, 1], [1, 1]]);
        assert_eq!(contour_area(&c), 0.5);
    }
}
