//! Reference outputs for the Python binding's bit-for-bit tests (`crates/deltacell-py/tests`):
//! writes three small synthetic training sets and `reference.npz` with what the library gives
//! for fixed seeds, straight from Rust. The Python tests make the same calls through
//! `deltacell.data` and compare every value exactly.
//!
//! ```sh
//! cargo run -p deltacell-data --example py_reference -- OUT_DIR
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use deltacell_data::augment::{AugmentParams, ElasticParams, GridPoints};
use deltacell_data::dataset::{
    random_crop, Loader, LoaderOptions, Mode, SegOptions, SegmentationDataset, TrackOptions,
    TrackingDataset, Weights,
};
use deltacell_data::layout::Folders;
use deltacell_data::wei::make_weights;
use deltacell_data::weights::{SegWeightParams, WeightRecipe};
use deltacell_data::{io, random, synth, Batch, Image, Mask, Plane, WeightMap};
use ndarray::{Array2, Array3, Array4};
use ndarray_npy::NpzWriter;

type Npz = NpzWriter<File>;
type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn add_batch(npz: &mut Npz, name: &str, b: &Batch) -> Res<()> {
    let x = Array4::from_shape_vec((b.n, b.height, b.width, b.in_channels), b.x.clone())?;
    let y = Array4::from_shape_vec((b.n, b.height, b.width, b.out_channels), b.y.clone())?;
    npz.add_array(format!("{name}_x"), &x)?;
    npz.add_array(format!("{name}_y"), &y)?;
    Ok(())
}

fn array2<T: Copy + ndarray_npy::WritableElement>(p: &Plane<T>) -> Res<Array2<T>> {
    Ok(Array2::from_shape_vec(p.shape(), p.as_slice().to_vec())?)
}

fn loader(ds: Arc<dyn deltacell_data::dataset::Dataset>, batch: usize, seed: u64) -> Res<Loader> {
    Ok(Loader::new(
        ds,
        LoaderOptions {
            batch_size: batch,
            seed,
            workers: 0,
            ..LoaderOptions::default()
        },
    )?)
}

fn main() -> Res<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: py_reference OUT_DIR")?,
    );
    std::fs::create_dir_all(&out)?;
    let quiet = &|_: usize, _: usize| {};
    let mm = out.join("mm-seg");
    let two_d = out.join("2d-seg");
    let track = out.join("mm-track");
    synth::generate(synth::SynthKind::MmSeg, 12, 3, &mm, quiet)?;
    make_weights(
        &mm,
        &WeightRecipe::Seg(SegWeightParams::default()),
        true,
        quiet,
    )?;
    synth::generate(synth::SynthKind::TwoDSeg, 3, 4, &two_d, quiet)?;
    synth::generate(synth::SynthKind::MmTrack, 12, 5, &track, quiet)?;

    let mut npz = NpzWriter::new_compressed(File::create(out.join("reference.npz"))?);

    // data_augmentation on [image, mask, weights] with every operation.
    let first = |dir: &Path| -> Res<PathBuf> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        names.sort();
        Ok(names.remove(0))
    };
    let image = io::read_image(first(&mm.join("img"))?, io::Rescale::DtypeMax)?;
    let mask = io::read_binary_mask(first(&mm.join("seg"))?)?;
    let weights = io::read_weights(first(&mm.join("wei"))?)?;
    let stack = vec![
        image.plane().clone(),
        mask.to_f32(),
        weights.plane().clone(),
    ];
    let (h, w) = image.shape();
    let flat: Vec<f32> = stack.iter().flat_map(|p| p.as_slice().to_vec()).collect();
    npz.add_array("aug_in", &Array3::from_shape_vec((3, h, w), flat)?)?;
    let params = AugmentParams {
        elastic_deformation: Some(ElasticParams {
            sigma: 2.0,
            points: GridPoints::Square(3),
        }),
        histogram_voodoo: true,
        shift_x: 0.1,
        shift_y: 0.05,
        ..AugmentParams::seg_training()
    };
    let augmented = deltacell_data::augment::augment_stack(
        stack,
        &[1, 0, 0],
        &params,
        &mut random::stream(42, 0, 0),
    )?;
    let (ah, aw) = augmented[0].shape();
    let flat: Vec<f32> = augmented
        .iter()
        .flat_map(|p| p.as_slice().to_vec())
        .collect();
    npz.add_array("aug_out", &Array3::from_shape_vec((3, ah, aw), flat)?)?;

    // random_crop of a 40×30 raster to 32×48 (crop rows, pad columns).
    let img = Image::from_plane(Plane::from_fn(40, 30, |r, c| {
        ((r * 30 + c) % 97) as f32 / 97.0
    }));
    let seg = Mask::from_fn(40, 30, |r, c| (r + c) % 7 == 0);
    let wei = WeightMap::from_plane(Plane::from_fn(40, 30, |r, c| (r * c) as f32 / 10.0));
    let (ci, cs, cw) = random_crop(
        &img,
        &seg,
        Some(&wei),
        (32, 48),
        &mut random::stream(17, 0, 0),
    )?;
    npz.add_array("crop_img", &array2(&ci)?)?;
    npz.add_array("crop_seg", &array2(&cs)?)?;
    npz.add_array("crop_wei", &array2(cw.ok_or("no weights")?.plane())?)?;

    // load_training_dataset_seg(mm-seg, (256, 32), crop=False, seg augmentation, 25 % validation,
    // seed 7, batch 4).
    let seg_opts = SegOptions {
        target_size: (256, 32),
        crop: false,
        augment: AugmentParams::seg_training(),
        ..SegOptions::default()
    };
    let splits = SegmentationDataset::open_split(&mm, &seg_opts, 0.25, 0.0, 7)?;
    let val = splits.validation.ok_or("no validation split")?;
    let train = loader(Arc::new(splits.train), 4, 7)?;
    for (e, s) in [(0u64, 0usize), (0, 1), (1, 0)] {
        add_batch(
            &mut npz,
            &format!("mm_train_e{e}_s{s}"),
            &train.batch_at(e, s)?,
        )?;
    }
    let val = loader(Arc::new(val), 4, 7)?;
    add_batch(&mut npz, "mm_val_e0_s0", &val.batch_at(0, 0)?)?;

    // load_training_dataset_seg(2d-seg, (128, 128), crop=True, weights=seg_weights_2D, seed 9,
    // batch 2).
    let opts_2d = SegOptions {
        target_size: (128, 128),
        crop: true,
        weights: Weights::Computed(WeightRecipe::Seg2d {
            classweights: (1.0, 1.0),
        }),
        augment: AugmentParams {
            rotations_90d: true,
            ..AugmentParams::seg_training()
        },
        ..SegOptions::default()
    };
    let splits = SegmentationDataset::open_split(&two_d, &opts_2d, 0.0, 0.0, 9)?;
    let l2d = loader(Arc::new(splits.train), 2, 9)?;
    add_batch(&mut npz, "2d_train_e0_s0", &l2d.batch_at(0, 0)?)?;
    add_batch(&mut npz, "2d_train_e2_s1", &l2d.batch_at(2, 1)?)?;

    // train_generator_track(3, …, weights_path="online", track augmentation, seed 11).
    let folders = Folders {
        img: Some(track.join("img")),
        seg: Some(track.join("seg")),
        previmg: Some(track.join("previmg")),
        segall: Some(track.join("segall")),
        mot_dau: Some(track.join("mot_dau")),
        wei: None,
    };
    let topts = TrackOptions {
        target_size: (256, 32),
        weights: Weights::Computed(WeightRecipe::Track {
            halo_distance: 50.0,
        }),
        augment: AugmentParams::track_training(),
        ..TrackOptions::default()
    };
    let tl = loader(
        Arc::new(TrackingDataset::open_folders(
            &folders,
            &topts,
            Mode::Training,
        )?),
        3,
        11,
    )?;
    add_batch(&mut npz, "track_e0_s0", &tl.batch_at(0, 0)?)?;
    add_batch(&mut npz, "track_e0_s1", &tl.batch_at(0, 1)?)?;

    // trainGenerator_seg(2, img, seg, None) (no weight channel), seed 5.
    let folders = Folders {
        img: Some(mm.join("img")),
        seg: Some(mm.join("seg")),
        ..Folders::default()
    };
    let plain = SegOptions {
        augment: AugmentParams::seg_training(),
        ..SegOptions::default()
    };
    let sl = loader(
        Arc::new(SegmentationDataset::open_folders(
            &folders,
            &plain,
            deltacell_data::dataset::Mode::Training,
        )?),
        2,
        5,
    )?;
    add_batch(&mut npz, "seg207_e0_s0", &sl.batch_at(0, 0)?)?;

    // estimate_seg2D_classweights(2d-seg/seg, sample_size 2, seed 13).
    let (a, b) =
        deltacell_data::weights::estimate_seg2d_classweights_dir(&two_d.join("seg"), Some(2), 13)?;
    npz.add_array("classweights", &ndarray::arr1(&[a, b]))?;
    npz.finish()?;
    println!("{}", out.display());
    Ok(())
}
