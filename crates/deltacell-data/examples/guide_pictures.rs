//! Draws the pictures of `docs/training-advanced.md` from synthetic data, with the library's own
//! `synth`, `augment`, `weights`, `dataset`, `predict` and `report` modules:
//!
//! ```sh
//! cargo run --release -p deltacell-data --example guide_pictures -- docs/img
//! ```
//!
//! * `augment-<key>.png`: one contact sheet per augmentation key: the original sample, then four
//!   draws (the random streams of epochs 0–3, as training would draw them). Intensity
//!   operations show one row (the image with the mask outline in green, which they never move);
//!   geometric operations add a second row, the weight map as a heat map, which follows the
//!   geometry pixel for pixel.
//! * `weights-seg.png`, `weights-seg2d.png`, `weights-track.png`: DeLTA's three weight functions.
//! * `batch-seg.png`, `batch-track.png`: training batches as the network sees them.
//! * `predict-windows.png`, `predict-track.png`: the prediction generators' inputs.
//!
//! Everything is deterministic (fixed seeds); the pictures are written as palette PNGs (at most
//! 256 colours, greys quantised to 32 levels) to keep the committed files small.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use deltacell_data::augment::resize::resize_image;
use deltacell_data::augment::{augment, AugmentParams, ElasticParams, GridPoints, Sample, Target};
use deltacell_data::dataset::{
    Dataset, Loader, LoaderOptions, Mode, SegOptions, SegmentationDataset, TrackOptions,
    TrackingDataset, Weights,
};
use deltacell_data::image::{Image, Mask, WeightMap};
use deltacell_data::io::{self, Rescale};
use deltacell_data::predict::{self, Fit, Fitting, TrackInputOptions};
use deltacell_data::random::stream;
use deltacell_data::report::contact_sheet;
use deltacell_data::report::{self, ColourMap, RgbImage};
use deltacell_data::synth::{self, SynthKind};
use deltacell_data::weights::{
    seg_weights, seg_weights_2d, tracking_weights, SegWeightParams, WeightRecipe,
};

/// Seed of every picture.
const SEED: u64 = 7;
/// Draws per augmentation sheet (after the original).
const DRAWS: u64 = 4;

/// The augmentation sheets: file key, whether the operation is geometric (second row with the
/// weights), and the parameters (strong values, so that the effect is visible at a glance).
fn operations() -> Vec<(&'static str, bool, AugmentParams)> {
    let p = AugmentParams::default;
    vec![
        (
            "illumination_voodoo",
            false,
            AugmentParams {
                illumination_voodoo: true,
                ..p()
            },
        ),
        (
            "histogram_voodoo",
            false,
            AugmentParams {
                histogram_voodoo: true,
                ..p()
            },
        ),
        (
            "gaussian_noise",
            false,
            AugmentParams {
                gaussian_noise: 0.1,
                ..p()
            },
        ),
        (
            "gaussian_blur",
            false,
            AugmentParams {
                gaussian_blur: 2.0,
                ..p()
            },
        ),
        (
            "elastic_deformation",
            true,
            AugmentParams {
                elastic_deformation: Some(ElasticParams {
                    sigma: 4.0,
                    points: GridPoints::Square(4),
                }),
                ..p()
            },
        ),
        (
            "horizontal_flip",
            true,
            AugmentParams {
                horizontal_flip: true,
                ..p()
            },
        ),
        (
            "vertical_flip",
            true,
            AugmentParams {
                vertical_flip: true,
                ..p()
            },
        ),
        (
            "rotations_90d",
            true,
            AugmentParams {
                rotations_90d: true,
                ..p()
            },
        ),
        (
            "rotation",
            true,
            AugmentParams {
                rotation: 30.0,
                ..p()
            },
        ),
        ("zoom", true, AugmentParams { zoom: 0.5, ..p() }),
        (
            "shift",
            true,
            AugmentParams {
                shift_x: 0.2,
                shift_y: 0.2,
                ..p()
            },
        ),
        (
            "resize",
            true,
            AugmentParams {
                resize: true,
                ..p()
            },
        ),
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "docs/img".into()));
    std::fs::create_dir_all(&out)?;
    let mut written = Vec::new();

    augmentation_sheets(&out, &mut written)?;
    weight_pictures(&out, &mut written)?;
    let scratch = tempfile::tempdir()?;
    batch_pictures(scratch.path(), &out, &mut written)?;
    prediction_pictures(scratch.path(), &out, &mut written)?;

    let mut total = 0;
    for p in &written {
        let bytes = std::fs::metadata(p)?.len();
        total += bytes;
        println!("{:>8} bytes  {}", bytes, p.display());
    }
    println!("{total:>8} bytes in {} pictures", written.len());
    Ok(())
}

/// A 96×96 agar-pad colony with its mask and DeLTA's `seg_weights` map (the map that shows the
/// one-pixel gaps between cells best).
fn colony_sample() -> Sample {
    let (image, labels) = synth::colony(&mut stream(SEED, 0, 0), (96, 96), 14);
    let mask = labels.to_mask();
    let weights = seg_weights(&mask, &SegWeightParams::default());
    Sample {
        targets: vec![
            Target::Image(image),
            Target::Mask(mask),
            Target::Weights(weights),
        ],
    }
}

/// One sheet per augmentation key.
fn augmentation_sheets(
    out: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let original = colony_sample();
    let (image, _, weights) = parts(&original);
    // One grey scale and one colour scale for the whole sheet: the original's.
    let range = Stretch::of(image);
    let wmax = weights.max();
    for (key, geometric, params) in operations() {
        params.validate()?;
        let mut samples = vec![original.clone()];
        for k in 0..DRAWS {
            let mut s = original.clone();
            // Draw k is what training draws for sample 0 in epoch k.
            augment(&mut s, &params, &mut stream(SEED, k, 0))?;
            samples.push(s);
        }
        let mut top = Vec::new();
        let mut bottom = Vec::new();
        for s in &samples {
            let (img, mask, weights) = parts(s);
            if geometric {
                top.push(outlined(img, mask, &range, 2));
                let heat = report::heat_map(weights.plane(), Some(wmax), ColourMap::Inferno);
                bottom.push(enlarge(&heat, 2));
            } else {
                // Intensity operations never touch the mask: the image alone shows them best.
                top.push(enlarge(&range.grey(img), 2));
            }
        }
        let rows = if geometric {
            vec![top, bottom]
        } else {
            vec![top]
        };
        let path = out.join(format!("augment-{key}.png"));
        save(&report::grid(&rows, 4, report::DARK), &path)?;
        written.push(path);
    }
    Ok(())
}

/// A display range: the 0.5 % and 99.5 % quantiles of an image, mapped to black and white, so
/// that the low-contrast phase-contrast images are readable (the same range for every draw of a
/// sheet, so intensity changes stay visible).
struct Stretch {
    lo: f32,
    hi: f32,
}

impl Stretch {
    fn of(image: &Image) -> Self {
        let mut v = image.as_slice().to_vec();
        v.sort_by(f32::total_cmp);
        let q = |f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
        let (lo, hi) = (q(0.005), q(0.995));
        Stretch {
            lo,
            hi: if hi > lo { hi } else { lo + 1.0 },
        }
    }

    fn grey(&self, image: &Image) -> RgbImage {
        let shown = image
            .plane()
            .map(|v| ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0));
        report::grey(&Image::from_plane_unchecked(shown))
    }
}

fn parts(s: &Sample) -> (&Image, &Mask, &WeightMap) {
    match &s.targets[..] {
        [Target::Image(i), Target::Mask(m), Target::Weights(w)] => (i, m, w),
        _ => unreachable!("the sample is built as [image, mask, weights]"),
    }
}

/// The image in grey (stretched), enlarged `f` times, with the mask outline in green drawn at
/// the enlarged size (one screen pixel wide).
fn outlined(image: &Image, mask: &Mask, range: &Stretch, f: usize) -> RgbImage {
    let mut t = enlarge(&range.grey(image), f);
    report::draw_mask_outline(&mut t, &enlarge_mask(mask, f), report::GREEN);
    t
}

/// Nearest-neighbour enlargement by an integer factor.
fn enlarge(t: &RgbImage, f: usize) -> RgbImage {
    let mut o = RgbImage::filled(t.height() * f, t.width() * f, [0, 0, 0]);
    for r in 0..o.height() {
        for c in 0..o.width() {
            o.put(r, c, t.get(r / f, c / f));
        }
    }
    o
}

fn enlarge_mask(m: &Mask, f: usize) -> Mask {
    let (h, w) = m.shape();
    Mask::from_fn(h * f, w * f, |r, c| m.get(r / f, c / f) != 0)
}

/// `seg_weights` on a chamber, `seg_weights` and `seg_weights_2D` on a colony, and
/// `tracking_weights` on the cells of a chamber pair.
fn weight_pictures(
    out: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let heat = |w: &WeightMap| report::heat_map(w.plane(), Some(w.max()), ColourMap::Inferno);

    // Mother machine: image, image with outlines, seg_weights (w0 12, sigma 2), enlarged ×2.
    let (image, labels) = synth::mm_chamber(&mut stream(SEED, 0, 1), 6);
    let mask = labels.to_mask();
    let range = Stretch::of(&image);
    let w = seg_weights(&mask, &SegWeightParams::default());
    let row = vec![
        enlarge(&range.grey(&image), 2),
        outlined(&image, &mask, &range, 2),
        enlarge(&heat(&w), 2),
    ];
    let path = out.join("weights-seg.png");
    save(&report::grid(&[row], 4, report::DARK), &path)?;
    written.push(path);

    // Colony: image with outlines, seg_weights, seg_weights_2D (classweights 1, 1).
    let (image, labels) = synth::colony(&mut stream(SEED, 0, 2), (112, 112), 20);
    let mask = labels.to_mask();
    let range = Stretch::of(&image);
    let row = vec![
        outlined(&image, &mask, &range, 2),
        enlarge(&heat(&seg_weights(&mask, &SegWeightParams::default())), 2),
        enlarge(&heat(&seg_weights_2d(&mask, (1.0, 1.0))), 2),
    ];
    let path = out.join("weights-seg2d.png");
    save(&report::grid(&[row], 4, report::DARK), &path)?;
    written.push(path);

    // Tracking: for three seed cells of a chamber pair, the seed (magenta) on frame t−1; all
    // cells at t (green) with mot_dau (magenta); tracking_weights(mot_dau, segall, 50) on a log
    // scale (its values span 100 to ~30 000).
    let pair = synth::mm_tracking_pair(&mut stream(SEED, 0, 3), 6);
    let segall = pair.cur_labels.to_mask();
    let range = Stretch::of(&pair.prev);
    let mut row = Vec::new();
    for s in pair.samples.iter().take(3) {
        let w = tracking_weights(&s.mot_dau, &segall, 50.0)?;
        let log = w.plane().map(|v| v.max(1.0).ln());
        let (lo, hi) = log
            .as_slice()
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let log = log.map(|v| (v - lo) / (hi - lo).max(1e-6));
        let mut prev = enlarge(&range.grey(&pair.prev), 2);
        report::draw_mask_outline(&mut prev, &enlarge_mask(&s.seed, 2), report::MAGENTA);
        let mut cur = outlined(&pair.cur, &segall, &range, 2);
        report::draw_mask_outline(&mut cur, &enlarge_mask(&s.mot_dau, 2), report::MAGENTA);
        row.push(prev);
        row.push(cur);
        row.push(enlarge(
            &report::heat_map(&log, Some(1.0), ColourMap::Inferno),
            2,
        ));
    }
    let path = out.join("weights-track.png");
    save(&report::grid(&[row], 4, report::DARK), &path)?;
    written.push(path);
    Ok(())
}

/// A segmentation and a tracking batch from small synthetic sets written to `scratch`.
fn batch_pictures(
    scratch: &Path,
    out: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let seg_dir = scratch.join("mm-seg");
    synth::generate(SynthKind::MmSeg, 8, SEED, &seg_dir, &|_, _| {})?;
    let seg = SegmentationDataset::open(
        &seg_dir,
        &SegOptions {
            target_size: (256, 32),
            weights: Weights::Computed(WeightRecipe::Seg(SegWeightParams::default())),
            augment: AugmentParams::seg_training(),
            ..SegOptions::default()
        },
        Mode::Training,
    )?;
    let batch = first_batch(Arc::new(seg), 4)?;
    let path = out.join("batch-seg.png");
    save(&contact_sheet(&[batch]), &path)?;
    written.push(path);

    let track_dir = scratch.join("mm-track");
    synth::generate(SynthKind::MmTrack, 12, SEED, &track_dir, &|_, _| {})?;
    let track = TrackingDataset::open(
        &track_dir,
        &TrackOptions {
            target_size: (256, 32),
            shift: 5,
            weights: Weights::Computed(WeightRecipe::Track {
                halo_distance: 50.0,
            }),
            augment: AugmentParams::track_training(),
            ..TrackOptions::default()
        },
        Mode::Training,
    )?;
    let batch = first_batch(Arc::new(track), 3)?;
    let path = out.join("batch-track.png");
    save(&contact_sheet(&[batch]), &path)?;
    written.push(path);
    Ok(())
}

fn first_batch(
    dataset: Arc<dyn Dataset>,
    batch_size: usize,
) -> Result<deltacell_data::Batch, Box<dyn std::error::Error>> {
    let loader = Loader::new(
        dataset,
        LoaderOptions {
            batch_size,
            seed: SEED,
            workers: 0,
            ..LoaderOptions::default()
        },
    )?;
    Ok(loader.batch_at(0, 0)?)
}

/// The windows `predict_generator_seg` cuts a 2-D frame into, and the four input channels
/// `predict_compile_from_seg_track` builds for the cells of a chamber movie.
fn prediction_pictures(
    scratch: &Path,
    out: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let movie = scratch.join("movie");
    synth::generate(SynthKind::Movie, 1, SEED, &movie, &|_, _| {})?;

    // Segmentation: a 256×256 colony frame in 160×160 windows overlapping by at least 24 px
    // (here 2 × 2 windows overlapping by 64 px); each window's outline on the frame has the
    // colour of the tile's frame on the right (tiles shown at half size).
    let frames = predict::list_images(&movie.join("2d/img"))?;
    let last = frames.last().ok_or("the synthetic movie has no frame")?;
    let inputs = predict::read_seg_inputs(
        std::slice::from_ref(last),
        (160, 160),
        Fit::Windows { min_overlap: 24 },
        Rescale::DtypeMax,
    )?;
    let input = &inputs[0];
    let image = io::read_image(last, Rescale::DtypeMax)?;
    let range = Stretch::of(&image);
    let mut frame = range.grey(&image);
    let Fitting::Tiled(windows) = &input.fitting else {
        return Err("windows expected".into());
    };
    let mut rows = Vec::new();
    let mut k = 0;
    for &(y0, y1) in &windows.loc_y {
        let mut row = Vec::new();
        for &(x0, x1) in &windows.loc_x {
            let colour = report::label_colour(k as u32 + 1);
            draw_box(&mut frame, (y0, x0, y1, x1), colour);
            let (th, tw) = input.tiles[k].shape();
            let mut tile = range.grey(&resize_image(&input.tiles[k], (th / 2, tw / 2)));
            draw_box(&mut tile, (0, 0, (th / 2) as i64, (tw / 2) as i64), colour);
            row.push(tile);
            k += 1;
        }
        rows.push(row);
    }
    let tiles = report::grid(&rows, 4, report::DARK);
    let path = out.join("predict-windows.png");
    save(&report::grid(&[vec![frame, tiles]], 4, report::DARK), &path)?;
    written.push(path);

    // Tracking: the inputs of the first cells of frame 4 of the chamber movie.
    let mm = movie.join("mm");
    let (batch, samples) = predict::compile_tracking_inputs(
        &mm.join("img"),
        &mm.join("seg"),
        None,
        &TrackInputOptions {
            target: (256, 32),
            crop: false,
            rescale: Rescale::DtypeMax,
        },
    )?;
    let first = samples
        .iter()
        .position(|s| s.id.frame == 4)
        .ok_or("no sample of frame 4")?;
    let n = samples[first..]
        .iter()
        .take_while(|s| s.id.frame == 4)
        .count()
        .min(3);
    let per = batch.height * batch.width * batch.in_channels;
    let mut shown = deltacell_data::Batch::zeros(n, batch.height, batch.width, 4, 0);
    shown
        .x
        .copy_from_slice(&batch.x[first * per..(first + n) * per]);
    let path = out.join("predict-track.png");
    save(&contact_sheet(&[shown]), &path)?;
    written.push(path);
    Ok(())
}

/// A one-pixel rectangle `(top, left, bottom, right)` (exclusive ends), clipped to the canvas.
fn draw_box(canvas: &mut RgbImage, (y0, x0, y1, x1): (i64, i64, i64, i64), colour: report::Rgb) {
    let (h, w) = (canvas.height() as i64, canvas.width() as i64);
    let (y0, x0, y1, x1) = (
        y0.max(0),
        x0.max(0),
        (y1 - 1).min(h - 1),
        (x1 - 1).min(w - 1),
    );
    for x in x0..=x1 {
        canvas.put(y0 as usize, x as usize, colour);
        canvas.put(y1 as usize, x as usize, colour);
    }
    for y in y0..=y1 {
        canvas.put(y as usize, x0 as usize, colour);
        canvas.put(y as usize, x1 as usize, colour);
    }
}

/// Writes `picture` as a palette PNG: greys quantised to 32 levels, other colours kept, at
/// most 256 colours in all (colour maps quantised further when needed).
fn save(picture: &RgbImage, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut step = 1u8;
    loop {
        let quant = |v: u8, s: u8| (v / s) * s + s / 2;
        let mut palette: Vec<[u8; 3]> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut pixels = Vec::with_capacity(picture.height() * picture.width());
        let mut overflow = false;
        'rows: for r in 0..picture.height() {
            for c in 0..picture.width() {
                let [a, b, d] = picture.get(r, c);
                let q = if a == b && b == d {
                    let g = quant(a, 8);
                    [g, g, g]
                } else {
                    [quant(a, step), quant(b, step), quant(d, step)]
                };
                let i = *index.entry(q).or_insert_with(|| {
                    palette.push(q);
                    palette.len() - 1
                });
                if i > 255 {
                    overflow = true;
                    break 'rows;
                }
                pixels.push(i as u8);
            }
        }
        if overflow {
            step = step.saturating_mul(2);
            continue;
        }
        let (h, w) = (picture.height() as u32, picture.width() as u32);
        io::write_atomic(path, |f| {
            let mut enc = png::Encoder::new(f, w, h);
            enc.set_color(png::ColorType::Indexed);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_palette(palette.concat());
            enc.set_compression(png::Compression::High);
            let mut writer = enc.write_header().map_err(std::io::Error::other)?;
            writer
                .write_image_data(&pixels)
                .map_err(std::io::Error::other)?;
            writer.finish().map_err(std::io::Error::other)
        })?;
        return Ok(());
    }
}
