//! A picture of batches as the network sees them: every channel of every sample side by side.

use super::Batch;
use crate::report::RgbImage;

/// Gap between tiles, pixels.
const GAP: usize = 2;
/// Extra gap between batches, pixels.
const BATCH_GAP: usize = 6;
/// Colour of the gaps (dark blue, so that black pixels of a tile stay visible).
const GAP_RGB: [u8; 3] = [30, 40, 90];

/// Lays `batches` out as one picture: one row of tiles per sample (batches one under the other),
/// one column per channel — the inputs `x` then the targets `y` — in greyscale. Images and labels
/// map `[0, 1]` to black..white; weight channels (target channel ≥ 1) are divided by their
/// largest value in the batch so that their structure shows whatever their scale.
pub fn contact_sheet(batches: &[Batch]) -> RgbImage {
    let cols = batches
        .iter()
        .map(|b| b.in_channels + b.out_channels)
        .max()
        .unwrap_or(0);
    let tile_w = batches.iter().map(|b| b.width).max().unwrap_or(0);
    let rows: usize = batches.iter().map(|b| b.n).sum();
    let tile_h = batches.iter().map(|b| b.height).max().unwrap_or(0);
    let width = cols * tile_w + (cols + 1) * GAP;
    let height = rows * tile_h + (rows + 1) * GAP + batches.len().saturating_sub(1) * BATCH_GAP;
    let mut sheet = RgbImage::filled(height, width, GAP_RGB);
    let mut y0 = GAP;
    for batch in batches {
        // Per-batch maxima of the weight channels.
        let weight_max: Vec<f32> = (0..batch.out_channels)
            .map(|c| {
                if c == 0 {
                    1.0
                } else {
                    let m = batch
                        .y
                        .iter()
                        .skip(c)
                        .step_by(batch.out_channels)
                        .fold(0f32, |a, &v| a.max(v));
                    if m > 0.0 {
                        m
                    } else {
                        1.0
                    }
                }
            })
            .collect();
        for s in 0..batch.n {
            let mut x0 = GAP;
            let mut draw = |plane: &crate::image::Plane<f32>, scale: f32, x0: usize| {
                for r in 0..plane.height() {
                    for (c, &v) in plane.row(r).iter().enumerate() {
                        let g = ((v / scale).clamp(0.0, 1.0) * 255.0).round() as u8;
                        sheet.put(y0 + r, x0 + c, [g, g, g]);
                    }
                }
            };
            for c in 0..batch.in_channels {
                draw(&batch.x_plane(s, c), 1.0, x0);
                x0 += tile_w + GAP;
            }
            for (c, &scale) in weight_max.iter().enumerate() {
                draw(&batch.y_plane(s, c), scale, x0);
                x0 += tile_w + GAP;
            }
            y0 += tile_h + GAP;
        }
        y0 += BATCH_GAP;
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_places_every_channel_and_scales_weights() {
        let mut b = Batch::zeros(2, 3, 4, 1, 2);
        b.x[0] = 1.0; // sample 0, x, pixel (0, 0)
        b.y[1] = 10.0; // sample 0, weight, pixel (0, 0): the batch maximum
        b.y[24 + 2 * 11 + 1] = 5.0; // sample 1, weight, pixel (2, 3)
        let p = contact_sheet(&[b.clone(), b]);
        assert_eq!(p.width(), 3 * 4 + 4 * GAP);
        assert_eq!(p.height(), 4 * 3 + 5 * GAP + BATCH_GAP);
        let px = |r: usize, c: usize| p.get(r, c)[0];
        assert_eq!(px(GAP, GAP), 255);
        assert_eq!(px(0, 0), GAP_RGB[0]);
        // Weight column = third column of tiles.
        let wx = GAP + 2 * (4 + GAP);
        assert_eq!(px(GAP, wx), 255);
        assert_eq!(px(GAP + 3 + GAP + 2, wx + 3), 128);
    }
}
