//! Model shapes, training, save/load and the fit loop on small synthetic data.

use std::sync::atomic::Ordering;

use burn::module::Module;
use burn::tensor::Tensor;
use deltacell_nn::config::{Config, PRESETS};
use deltacell_nn::infer::Predictor;
use deltacell_nn::run_dir::{self, RunDir};
use deltacell_nn::train::{self, Control, Event, StopReason};
use deltacell_nn::{device, Batch, FitOptions, Kind, Trainer, UnetSpec};

/// `n` samples of `h×w` with bright rectangles ("cells") on a dim background; y = [label, 1].
fn rectangles(n: usize, h: usize, w: usize, in_channels: usize, seed: u64) -> Batch {
    let mut b = Batch::zeros(n, h, w, in_channels, 2);
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = |m: usize| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) as usize) % m
    };
    for k in 0..n {
        for p in 0..h * w {
            for c in 0..in_channels {
                b.x[(k * h * w + p) * in_channels + c] = 0.2;
            }
            b.y[(k * h * w + p) * 2 + 1] = 1.0;
        }
        for _ in 0..3 {
            let (rh, rw) = (3 + next(h / 3), 3 + next(w / 4));
            let (r0, c0) = (next(h - rh), next(w - rw));
            for r in r0..r0 + rh {
                for c in c0..c0 + rw {
                    let p = k * h * w + r * w + c;
                    for ch in 0..in_channels {
                        b.x[p * in_channels + ch] = 0.8;
                    }
                    b.y[p * 2] = 1.0;
                }
            }
        }
    }
    b
}

#[test]
fn full_size_parameter_counts_equal_delta() {
    let device = device::cpu();
    let seg = UnetSpec::delta(Kind::Seg).init(0, &device).unwrap();
    assert_eq!(seg.num_params(), 31_030_593);
    let track = UnetSpec::delta(Kind::Track).init(0, &device).unwrap();
    assert_eq!(track.num_params(), 31_032_321);
    // Smaller models: the module's own count against DeLTA's formula, plus the two small Keras
    // models DeLTA 2.0.7 built for the reference (402 625 and 1 863 425 parameters).
    for levels in 1..=4 {
        let spec = UnetSpec::with_levels(Kind::Seg, levels);
        let model = spec.init(0, &device).unwrap();
        assert_eq!(model.num_params(), spec.param_count(), "levels {levels}");
    }
    assert_eq!(UnetSpec::with_levels(Kind::Seg, 2).param_count(), 402_625);
    assert_eq!(
        UnetSpec::with_levels(Kind::Track, 3).param_count(),
        1_863_425
    );
}

#[test]
fn forward_shapes_for_every_model_and_preset() {
    let device = device::cpu();
    for preset in PRESETS {
        let config = Config::preset(preset).unwrap();
        for (kind, m) in config.iter_models() {
            // Five levels as in DeLTA, tiny filters to keep the test fast.
            let spec = UnetSpec::with_filters(kind, vec![2, 2, 2, 2, 2]);
            assert_eq!(spec.input_channels, kind.input_channels());
            let model = spec.init(1, &device).unwrap();
            let [h, w] = m.target_size;
            let x = Tensor::<4>::zeros([1, spec.input_channels, h, w], &device);
            assert_eq!(model.forward(x).dims(), [1, 1, h, w], "{preset} {kind}");
        }
    }
}

#[test]
fn tiny_model_learns_rectangles() {
    let device = device::cpu();
    let batch = rectangles(2, 32, 32, 1, 1);
    let spec = UnetSpec::with_filters(Kind::Seg, vec![8, 16]);
    let mut trainer = Trainer::new(spec, 42, Some(1e-3), &device).unwrap();
    let first = trainer.evaluate(&batch).unwrap();
    let mut last = first;
    for _ in 0..40 {
        last = trainer.step(&batch).unwrap();
    }
    let after = trainer.evaluate(&batch).unwrap();
    assert!(
        after.loss < 0.5 * first.loss,
        "loss {} -> {} (last step {})",
        first.loss,
        after.loss,
        last.loss
    );
    assert!(after.acc > 0.9, "accuracy {}", after.acc);
    assert_eq!(trainer.steps(), 40);
}

#[test]
fn every_kind_trains_one_step_and_rejects_bad_batches() {
    let device = device::cpu();
    for kind in [Kind::Seg, Kind::Track, Kind::Rois] {
        let spec = UnetSpec::with_filters(kind, vec![4, 8]);
        let mut trainer = Trainer::new(spec, 1, None, &device).unwrap();
        let b = rectangles(1, 16, 16, kind.input_channels(), 3);
        let s = trainer.step(&b).unwrap();
        assert!(s.loss.is_finite() && s.loss > 0.0, "{kind}: {}", s.loss);
        assert!((0.0..=1.0).contains(&s.acc));
        let wrong_channels = rectangles(1, 16, 16, kind.input_channels() + 1, 3);
        assert!(trainer.step(&wrong_channels).is_err());
        let odd = rectangles(1, 15, 16, kind.input_channels(), 3);
        assert!(trainer.step(&odd).is_err());
    }
}

#[test]
fn save_then_load_gives_identical_outputs() {
    let device = device::cpu();
    let dir = tempfile::tempdir().unwrap();
    let spec = UnetSpec::with_filters(Kind::Track, vec![4, 8, 8]);
    let mut trainer = Trainer::new(spec.clone(), 5, None, &device).unwrap();
    let b = rectangles(2, 16, 8, 4, 9);
    trainer.step(&b).unwrap();
    let mut info = run_dir::ModelInfo::new(spec.clone(), [16, 8]);
    info.seed = 5;
    info.preset = Some("2D".into());
    info.data_fingerprint = Some("abc".into());
    (info.epoch, info.loss) = (1, 0.5);
    let run = RunDir::create(dir.path()).unwrap();
    run.save_best(&trainer.model().valid(), &info).unwrap();
    let before = Predictor::from_model(trainer.model(), info.clone(), &device)
        .predict_logits(&b)
        .unwrap();
    let loaded = Predictor::load(dir.path(), &device).unwrap();
    assert_eq!(loaded.info(), &info);
    assert_eq!(loaded.predict_logits(&b).unwrap(), before);
    let p = loaded.predict_probabilities(&b).unwrap();
    assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
    // A different architecture must not load these weights.
    let other = UnetSpec::with_filters(Kind::Track, vec![4, 8]);
    assert!(run_dir::load_model(&run.file(run_dir::MODEL_FILE), &other, &device).is_err());
    // No temporary files left behind.
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let name = e.unwrap().file_name();
        assert!(!name.to_string_lossy().contains(".tmp"), "{name:?}");
    }
}

#[test]
fn fit_writes_run_dir_stops_early_and_resumes() {
    let device = device::cpu();
    let dir = tempfile::tempdir().unwrap();
    let spec = UnetSpec::with_filters(Kind::Seg, vec![4, 8]);
    let train_batch = rectangles(2, 16, 16, 1, 11);
    let val_batch = rectangles(2, 16, 16, 1, 12);
    let mut options = FitOptions::new(3, 4);
    options.validation_steps = 1;
    options.run_dir = Some(RunDir::create(dir.path()).unwrap());
    options.seed = 7;
    options.input_size = [16, 16];
    let mut trainer = Trainer::new(spec.clone(), 7, Some(1e-3), &device).unwrap();
    let mut steps_seen = 0;
    let mut val = |_e: usize, _s: usize| Ok(val_batch.clone());
    let (history, reason) = train::fit(
        &mut trainer,
        |_e, _s| Ok(train_batch.clone()),
        Some(&mut val),
        &options,
        |ev: &Event<'_>| {
            if let Event::Step { .. } = ev {
                steps_seen += 1;
            }
            Control::Continue
        },
    )
    .unwrap();
    assert_eq!(reason, StopReason::Completed);
    assert_eq!(steps_seen, 12);
    assert_eq!(history.epochs.len(), 3);
    assert!(history.epochs.iter().all(|r| r.val_loss.is_some()));
    for f in [
        "model.safetensors",
        "model.toml",
        "history.csv",
        "curves.png",
        "checkpoint.toml",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let run = RunDir::open(dir.path()).unwrap();
    let state = run.checkpoint_state().unwrap();
    assert_eq!(
        (state.next_epoch, state.next_step, state.total_steps),
        (3, 0, 12)
    );

    // Resume up to 5 epochs; the optimizer state comes back with the model.
    let (mut resumed, state) = train::resume(&run, &device).unwrap();
    assert_eq!(resumed.steps(), 12);
    let mut options2 = options.clone();
    options2.epochs = 5;
    options2.start = (state.next_epoch, state.next_step);
    options2.best = (state.best_loss, state.epochs_without_improvement);
    let (history, reason) = train::fit(
        &mut resumed,
        |_e, _s| Ok(train_batch.clone()),
        Some(&mut val),
        &options2,
        |_ev: &Event<'_>| Control::Continue,
    )
    .unwrap();
    assert_eq!(reason, StopReason::Completed);
    assert_eq!(history.epochs.len(), 5);
    assert_eq!(history.epochs[4].epoch, 5);
    assert_eq!(resumed.steps(), 20);

    // Stop flag: stops after the current step with a checkpoint pointing at the next step.
    let dir2 = tempfile::tempdir().unwrap();
    let mut options3 = FitOptions::new(2, 4);
    options3.run_dir = Some(RunDir::create(dir2.path()).unwrap());
    let stop = options3.stop.clone();
    let mut t3 = Trainer::new(spec.clone(), 1, None, &device).unwrap();
    let (_, reason) = train::fit(
        &mut t3,
        |_e, _s| Ok(train_batch.clone()),
        None,
        &options3,
        |ev: &Event<'_>| {
            if let Event::Step { step: 1, .. } = ev {
                stop.store(true, Ordering::Relaxed);
            }
            Control::Continue
        },
    )
    .unwrap();
    assert_eq!(reason, StopReason::Interrupted);
    let st = RunDir::open(dir2.path())
        .unwrap()
        .checkpoint_state()
        .unwrap();
    assert_eq!((st.next_epoch, st.next_step, st.total_steps), (0, 2, 2));

    // Early stopping: a learning rate too small to change the loss, patience 1.
    let mut options4 = FitOptions::new(10, 1);
    options4.patience = Some(1);
    let mut t4 = Trainer::new(spec, 1, Some(1e-30), &device).unwrap();
    let (h4, reason) = train::fit(
        &mut t4,
        |_e, _s| Ok(train_batch.clone()),
        None,
        &options4,
        |_ev: &Event<'_>| Control::Continue,
    )
    .unwrap();
    assert_eq!(reason, StopReason::EarlyStopped);
    assert!(h4.epochs.len() < 10);
}

/// A training source that is a function of `(epoch, step)`, as the CLI's are.
fn batch_at(epoch: usize, step: usize) -> deltacell_nn::Result<Batch> {
    Ok(rectangles(2, 16, 16, 1, (100 * epoch + step) as u64))
}

/// Runs `fit` on [`batch_at`] in `dir`, stopping (as Ctrl-C does) after each number of steps in
/// `stops` and resuming from the checkpoint in a fresh [`Trainer`] each time; after the last
/// stop, runs to the end when `finish`.
fn train_with_stops(
    dir: &std::path::Path,
    epochs: usize,
    validate: bool,
    stops: &[usize],
    finish: bool,
) {
    let device = device::cpu();
    let spec = UnetSpec::with_filters(Kind::Seg, vec![4, 8]);
    let val_batch = rectangles(2, 16, 16, 1, 12);
    let mut val = |_e: usize, _s: usize| Ok(val_batch.clone());
    let mut options = FitOptions::new(epochs, 4);
    options.validation_steps = usize::from(validate);
    options.run_dir = Some(RunDir::create(dir).unwrap());
    options.seed = 7;
    options.input_size = [16, 16];
    let mut trainer = Trainer::new(spec, 7, Some(1e-3), &device).unwrap();
    let mut stops = stops.iter();
    loop {
        let limit = stops.next().copied();
        let mut taken = 0;
        options.stop.store(false, Ordering::Relaxed);
        let (_, reason) = train::fit(
            &mut trainer,
            batch_at,
            validate.then_some(&mut val as &mut train::BatchSource<'_>),
            &options,
            |ev: &Event<'_>| {
                if let Event::Step { .. } = ev {
                    taken += 1;
                    if Some(taken) == limit {
                        return Control::Stop;
                    }
                }
                Control::Continue
            },
        )
        .unwrap();
        if limit.is_none() {
            assert_eq!(reason, StopReason::Completed);
            return;
        }
        assert_eq!(reason, StopReason::Interrupted);
        if !finish && stops.as_slice().is_empty() {
            return;
        }
        let run = RunDir::open(dir).unwrap();
        let (resumed, state) = train::resume(&run, &device).unwrap();
        trainer = resumed;
        options.start = (state.next_epoch, state.next_step);
        options.best = (state.best_loss, state.epochs_without_improvement);
    }
}

/// `history.csv` without the timing columns.
fn history_without_times(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("history.csv"))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            [&f[..5], &f[7..]].concat().join(",")
        })
        .collect()
}

#[test]
fn resumed_run_reproduces_the_uninterrupted_one_bit_for_bit() {
    let whole = tempfile::tempdir().unwrap();
    train_with_stops(whole.path(), 3, true, &[], true);
    // Stops in the middle of epoch 1 (after step 2), at the end of epoch 1 (the epoch then
    // completes: step 3 of epoch 1 and all of epoch 2), and in the middle of epoch 3.
    let stopped = tempfile::tempdir().unwrap();
    train_with_stops(stopped.path(), 3, true, &[3, 5, 2], true);
    let read = |d: &tempfile::TempDir, f: &str| std::fs::read(d.path().join(f)).unwrap();
    assert!(
        read(&whole, "model.safetensors") == read(&stopped, "model.safetensors"),
        "best model differs"
    );
    assert_eq!(read(&whole, "model.toml"), read(&stopped, "model.toml"));
    assert_eq!(
        history_without_times(whole.path()),
        history_without_times(stopped.path())
    );
    // The final checkpoints (model and Adam's state) are equal too.
    let ckpt = |d: &tempfile::TempDir| {
        let state = RunDir::open(d.path()).unwrap().checkpoint_state().unwrap();
        assert_eq!(
            (state.next_epoch, state.next_step, state.total_steps),
            (3, 0, 12)
        );
        assert_eq!(state.epoch_progress, None);
        let dir = d.path().join(&state.dir);
        (
            std::fs::read(dir.join("model.safetensors")).unwrap(),
            std::fs::read(dir.join("optimizer.bpk")).unwrap(),
        )
    };
    assert!(ckpt(&whole) == ckpt(&stopped), "final checkpoints differ");
}

#[test]
fn a_mid_epoch_checkpoint_keeps_the_epoch_so_far() {
    let dir = tempfile::tempdir().unwrap();
    // Interrupted after 2 steps of epoch 1 (of 4).
    train_with_stops(dir.path(), 1, false, &[2], false);
    let state = RunDir::open(dir.path())
        .unwrap()
        .checkpoint_state()
        .unwrap();
    assert_eq!((state.next_epoch, state.next_step), (0, 2));
    assert_eq!(state.steps_per_epoch, Some(4));
    let p = state.epoch_progress.expect("the epoch's sums so far");
    assert_eq!((p.steps, p.samples), (2, 4));
    assert!(p.loss_sum > 0.0 && p.acc_sum > 0.0 && p.seconds > 0.0);
}

#[test]
fn a_partial_epoch_is_recorded_but_never_best() {
    let device = device::cpu();
    let dir = tempfile::tempdir().unwrap();
    // One full epoch, then 2 of the 4 steps of epoch 2; no validation (the training loss is
    // monitored).
    train_with_stops(dir.path(), 2, false, &[6], false);
    let run = RunDir::open(dir.path()).unwrap();
    assert_eq!(run.model_info().unwrap().epoch, 1);
    // A checkpoint without the epoch's sums (as older versions wrote them).
    let path = dir.path().join("checkpoint.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = text.find("[epoch_progress]").expect("progress recorded");
    std::fs::write(&path, &text[..cut]).unwrap();
    let (mut trainer, state) = train::resume(&run, &device).unwrap();
    assert_eq!((state.next_epoch, state.next_step), (1, 2));
    let mut options = FitOptions::new(3, 4);
    options.run_dir = Some(run.clone());
    options.seed = 7;
    options.start = (state.next_epoch, state.next_step);
    options.best = (state.best_loss, state.epochs_without_improvement);
    let mut improved_epochs = Vec::new();
    let (history, reason) = train::fit(&mut trainer, batch_at, None, &options, |ev| {
        if let Event::Epoch { record, improved } = ev {
            improved_epochs.push((record.epoch, *improved));
        }
        Control::Continue
    })
    .unwrap();
    assert_eq!(reason, StopReason::Completed);
    // Epoch 2 ran 2 steps (4 samples): recorded, not best, whatever its loss.
    assert_eq!(history.epochs[1].samples, 4);
    assert_eq!(improved_epochs[0], (2, false));
    // Epoch 3 is complete and takes part again (its loss is below epoch 1's).
    assert_eq!(history.epochs[2].samples, 8);
    assert_eq!(improved_epochs[1], (3, true));
    assert_eq!(run.model_info().unwrap().epoch, 3);
    assert_eq!(
        run.checkpoint_state().unwrap().epochs_without_improvement,
        0
    );
}

#[test]
fn fit_refuses_a_start_past_the_end_of_an_epoch() {
    let device = device::cpu();
    let spec = UnetSpec::with_filters(Kind::Seg, vec![4, 8]);
    let mut trainer = Trainer::new(spec, 1, None, &device).unwrap();
    let mut options = FitOptions::new(2, 4);
    options.start = (0, 4);
    let e = train::fit(&mut trainer, batch_at, None, &options, train::ignore_events)
        .unwrap_err()
        .to_string();
    assert!(e.contains("step 4") && e.contains("4 steps"), "{e}");
    assert_eq!(trainer.steps(), 0);
}

/// The saved weights and optimizer state are byte-reproducible: the same model written many
/// times (each write builds its own hash maps) gives the same bytes, and a trainer rebuilt
/// from a checkpoint writes the optimizer state it read.
#[test]
fn saved_files_are_byte_reproducible() {
    let device = device::cpu();
    let spec = UnetSpec::with_filters(Kind::Seg, vec![4, 8]);
    let mut trainer = Trainer::new(spec.clone(), 3, Some(1e-3), &device).unwrap();
    trainer.step(&batch_at(0, 0).unwrap()).unwrap();
    let model = trainer.model().valid();
    let first = run_dir::model_bytes(&model).unwrap();
    let opt = trainer.optimizer_bytes().unwrap();
    for _ in 0..8 {
        assert!(run_dir::model_bytes(&model).unwrap() == first);
        assert!(trainer.optimizer_bytes().unwrap() == opt);
    }
    // The header is canonical JSON padded to 8 bytes; the file still loads.
    let n = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0);
    let header = std::str::from_utf8(&first[8..8 + n]).unwrap();
    assert!(
        header.starts_with("{\"__metadata__\":{\"format\""),
        "{header}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    std::fs::write(&path, &first).unwrap();
    let loaded = run_dir::load_model(&path, &spec, &device).unwrap();
    assert!(run_dir::model_bytes(&loaded).unwrap() == first);
    // Optimizer state: saved by one trainer, loaded by another, saved again: the same bytes,
    // and the next step of both is the same.
    let mut other = Trainer::from_model(loaded, spec, Some(1e-3), &device).unwrap();
    other.load_optimizer_bytes(opt.clone()).unwrap();
    assert!(other.optimizer_bytes().unwrap() == opt);
    let b = batch_at(0, 1).unwrap();
    assert_eq!(trainer.step(&b).unwrap(), other.step(&b).unwrap());
    assert!(
        run_dir::model_bytes(&trainer.model().valid()).unwrap()
            == run_dir::model_bytes(&other.model().valid()).unwrap()
    );
}

/// Prediction fits images as the model saw them in training: `crop_windows` of the config is
/// recorded in `model.toml` and decides windows against resizing, whatever the preset's name
/// (a mother-machine config switched to windows used to predict by resizing whole frames,
/// which closes the 2-px gaps between touching cells). Folders without it (older runs,
/// imported Keras models) fall back to the preset name.
#[test]
fn default_fit_follows_crop_windows_not_the_preset_name() {
    use deltacell_data::predict::Fit;
    let device = device::cpu();
    let spec = UnetSpec::with_filters(Kind::Seg, vec![4, 8]);
    let trainer = Trainer::new(spec.clone(), 1, None, &device).unwrap();
    let fit_of = |preset: &str, crop_windows: bool| {
        let mut config = Config::preset(preset).unwrap();
        config.crop_windows = crop_windows;
        let info = FitOptions::from_config(&config, Kind::Seg)
            .unwrap()
            .model_info(&spec);
        assert_eq!(info.crop_windows, Some(crop_windows));
        Predictor::from_model(trainer.model(), info, &device).default_fit()
    };
    assert!(matches!(fit_of("mothermachine", true), Fit::Windows { .. }));
    assert!(matches!(fit_of("2D", false), Fit::Resize));
    assert!(matches!(fit_of("2D", true), Fit::Windows { .. }));
    assert!(matches!(fit_of("mothermachine", false), Fit::Resize));
    // Without the record, the preset name decides (older run folders, imported models).
    let mut old = run_dir::ModelInfo::new(spec.clone(), [16, 16]);
    old.preset = Some("2D".into());
    let p = Predictor::from_model(trainer.model(), old.clone(), &device);
    assert!(matches!(p.default_fit(), Fit::Windows { .. }));
    old.preset = Some("mothermachine".into());
    let p = Predictor::from_model(trainer.model(), old, &device);
    assert!(matches!(p.default_fit(), Fit::Resize));
}

/// The config's `rescale` reaches the datasets and `model.toml`, and prediction reads images
/// as training did; folders without it read images divided by the type's maximum.
#[test]
fn rescale_is_recorded_and_followed_by_prediction() {
    use deltacell_data::io::Rescale;
    let device = device::cpu();
    let spec = UnetSpec::with_filters(Kind::Seg, vec![4, 8]);
    let trainer = Trainer::new(spec.clone(), 1, None, &device).unwrap();
    let mut config = Config::preset("2D").unwrap();
    assert_eq!(config.rescale, Rescale::MinMax);
    let text = "preset = \"2D\"\nrescale = \"dtype_max\"\n";
    let other = Config::from_toml(text, std::path::Path::new("rescale.toml"), None).unwrap();
    assert_eq!(other.rescale, Rescale::DtypeMax);
    let text = "preset = \"2D\"\nrescale = \"min_max\"\n";
    config = Config::from_toml(text, std::path::Path::new("rescale.toml"), None).unwrap();
    assert_eq!(config.rescale, Rescale::MinMax);
    let dir = tempfile::tempdir().unwrap();
    let recipe = config.dataset_recipe(Kind::Seg).unwrap();
    let seg = recipe.seg_options(dir.path(), true);
    assert_eq!(seg.rescale, Rescale::MinMax);
    let info = FitOptions::from_config(&config, Kind::Seg)
        .unwrap()
        .model_info(&spec);
    assert_eq!(info.rescale, Some(Rescale::MinMax));
    let run = RunDir::create(dir.path().join("run")).unwrap();
    run.save_best(&trainer.model().valid(), &info).unwrap();
    let p = Predictor::load(dir.path().join("run"), &device).unwrap();
    assert_eq!(p.rescale(), Rescale::MinMax);
    let old = run_dir::ModelInfo::new(spec, [16, 16]);
    let p = Predictor::from_model(trainer.model(), old, &device);
    assert_eq!(p.rescale(), Rescale::DtypeMax);
}

/// A segmentation set of `n` 64×64 files with three bright rectangles each, 2 px apart at
/// most (`img/`, `seg/`), 8-bit over the whole range.
fn rectangle_set(root: &std::path::Path, n: usize, seed: u64) {
    rectangle_set_in(root, n, seed, (0.0, 1.0), deltacell_data::io::Depth::U8);
}

/// [`rectangle_set`] with intensities mapped into `range` (fractions of the type's maximum)
/// and written at `depth`.
fn rectangle_set_in(
    root: &std::path::Path,
    n: usize,
    seed: u64,
    range: (f32, f32),
    depth: deltacell_data::io::Depth,
) {
    use deltacell_data::{io, Image, Mask, Plane};
    for d in ["img", "seg"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for i in 0..n {
        let b = rectangles(1, 64, 64, 1, seed + i as u64);
        let image = Image::from_plane(Plane::from_fn(64, 64, |r, c| {
            range.0 + (range.1 - range.0) * b.x[r * 64 + c]
        }));
        let mask = Mask::from_fn(64, 64, |r, c| b.y[(r * 64 + c) * 2] > 0.5);
        let name = format!("frame{i:03}.png");
        io::write_image(root.join("img").join(&name), &image, depth).unwrap();
        io::write_mask(root.join("seg").join(&name), &mask).unwrap();
    }
}

/// F1 at IoU 0.5 of `predict seg` (masks at probability 0.5, objects of 4 px or more) on the
/// images of the set `val` (`img/`, `seg/`), written into `out`, as `eval seg` scores it.
fn predicted_f1(predictor: &Predictor, val: &std::path::Path, out: &std::path::Path) -> f64 {
    use deltacell_data::metrics::evaluate_seg_folders;
    use deltacell_nn::infer::{predict_seg_folder, SegOutput, SegPrediction};
    let options = SegPrediction {
        output: SegOutput::Masks {
            threshold: 0.5,
            opening: None,
            min_size: 4,
        },
        ..SegPrediction::default()
    };
    predict_seg_folder(predictor, &val.join("img"), out, &options, &mut |_| {}).unwrap();
    evaluate_seg_folders(out, &val.join("seg"))
        .unwrap()
        .0
        .overall
        .f1_50
}

/// A 2-D segmentation configuration on 32² samples of the rectangle sets, no augmentation, the
/// model chosen by validation F1 (`monitor = "val_f1"`); `filters` in TOML (`"[4, 8]"`).
fn val_f1_config(epochs: usize, steps: usize, filters: &str, learning_rate: f64) -> Config {
    let text = format!(
        "preset = \"2D\"\n[models.seg]\ntarget_size = [32, 32]\nbatch_size = 2\n\
         epochs = {epochs}\nsteps_per_epoch = {steps}\npatience = 0\nvalidation_split = 0.0\n\
         filters = {filters}\nlearning_rate = {learning_rate}\nmonitor = \"val_f1\"\n\
         min_area = 4\n[models.seg.augmentation]\n"
    );
    Config::from_toml(&text, std::path::Path::new("f1.toml"), None).unwrap()
}

/// `monitor = "val_f1"`: every epoch scores the whole validation images as `predict seg` +
/// `eval seg` would (the same F1), records it in `history.csv`, and the saved model is the
/// epoch with the highest F1; without validation images the run is refused with a message.
#[test]
fn val_f1_monitor_scores_validation_images_and_keeps_the_best_epoch() {
    use deltacell_nn::data::TrainingData;
    let dir = tempfile::tempdir().unwrap();
    let (train, val) = (dir.path().join("train"), dir.path().join("val"));
    rectangle_set(&train, 4, 10);
    rectangle_set(&val, 2, 50);
    let config = val_f1_config(4, 3, "[4, 8]", 0.01);
    let device = device::cpu();
    let spec = config.model(Kind::Seg).unwrap().unet_spec(Kind::Seg);
    let mut trainer = Trainer::new(spec, 1, Some(0.01), &device).unwrap();
    let mut options = FitOptions::from_config(&config, Kind::Seg).unwrap();
    let run = dir.path().join("run");
    options.run_dir = Some(RunDir::create(&run).unwrap());
    let data = TrainingData::open(Kind::Seg, &config, &train, Some(&val), 1).unwrap();
    let (history, _) = data
        .fit(&mut trainer, &options, train::ignore_events)
        .unwrap();
    let f1: Vec<f64> = history.epochs.iter().map(|r| r.val_f1.unwrap()).collect();
    assert!(f1.iter().all(|f| (0.0..=1.0).contains(f)), "{f1:?}");
    // The F1 is measured on the validation masks' cells (8-connected), recorded every epoch.
    let cells: usize = std::fs::read_dir(val.join("seg"))
        .unwrap()
        .map(|e| {
            let labels = deltacell_data::io::read_labels(e.unwrap().path()).unwrap();
            deltacell_data::metrics::instances(&labels).max_label() as usize
        })
        .sum();
    assert!(cells >= 2, "{cells}");
    assert!(history.epochs.iter().all(|r| r.val_cells == Some(cells)));
    // The model kept is the epoch ending the best run of F1 (history::F1_WINDOW epochs).
    let window = |i: usize| {
        let s = (i + 1).saturating_sub(deltacell_nn::history::F1_WINDOW);
        f1[s..=i].iter().sum::<f64>() / (i + 1 - s) as f64
    };
    let best = (0..f1.len()).fold(0, |b, i| if window(i) > window(b) { i } else { b });
    let predictor = Predictor::load(&run, &device).unwrap();
    assert_eq!(predictor.info().epoch, best + 1, "{f1:?}");
    let csv = std::fs::read_to_string(run.join("history.csv")).unwrap();
    assert!(
        csv.lines().next().unwrap().ends_with(",val_f1,val_cells"),
        "{csv}"
    );

    // The recorded F1 of the saved epoch is what predict seg + eval seg give for its model.
    let f1_saved = predicted_f1(&predictor, &val, &dir.path().join("pred"));
    assert!((f1_saved - f1[best]).abs() < 1e-12, "{f1_saved} vs {f1:?}");

    // No validation images: refused, naming the key and the way out.
    let e = TrainingData::open(Kind::Seg, &config, &train, None, 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("val_f1") && e.contains("validation folder"),
        "{e}"
    );
    // A tracking model cannot monitor F1.
    let bad = "preset = \"2D\"\n[models.track]\nmonitor = \"val_f1\"\n";
    let e = Config::from_toml(bad, std::path::Path::new("t.toml"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("segmentation models only"), "{e}");
}

/// Issue 29: a fine-tuning whose epochs all score below its start keeps the start. A model
/// trained on rectangles is fine-tuned with a learning rate that wrecks it: the start is scored
/// before the first epoch (`Event::Start`, equal to `predict` + `eval` of the start), every
/// epoch scores lower, and the saved model is the start (`model.toml` epoch 0).
#[test]
fn a_fine_tuning_keeps_its_start_when_no_epoch_beats_it() {
    use deltacell_nn::data::TrainingData;
    let dir = tempfile::tempdir().unwrap();
    let (train, val) = (dir.path().join("train"), dir.path().join("val"));
    rectangle_set(&train, 4, 10);
    rectangle_set(&val, 2, 50);
    let config = val_f1_config(2, 30, "[8, 16]", 0.003);
    let device = device::cpu();
    let spec = config.model(Kind::Seg).unwrap().unet_spec(Kind::Seg);
    let data = || TrainingData::open(Kind::Seg, &config, &train, Some(&val), 1).unwrap();
    let base = dir.path().join("base");
    let mut trainer = Trainer::new(spec, 1, Some(0.003), &device).unwrap();
    let mut options = FitOptions::from_config(&config, Kind::Seg).unwrap();
    options.run_dir = Some(RunDir::create(&base).unwrap());
    data()
        .fit(&mut trainer, &options, train::ignore_events)
        .unwrap();
    let base_f1 = predicted_f1(
        &Predictor::load(&base, &device).unwrap(),
        &val,
        &dir.path().join("pred-base"),
    );
    assert!(
        base_f1 > 0.5,
        "the start to beat is a useful model: {base_f1}"
    );

    let (model, info) = RunDir::open(&base).unwrap().load_best(&device).unwrap();
    let mut tuner = Trainer::from_model(model, info.architecture, Some(5.0), &device).unwrap();
    let tuned = dir.path().join("tuned");
    let mut options = FitOptions::from_config(&config, Kind::Seg).unwrap();
    options.steps_per_epoch = 3;
    options.run_dir = Some(RunDir::create(&tuned).unwrap());
    options.start_is_candidate = true;
    let mut start = None;
    let (history, _) = data()
        .fit(&mut tuner, &options, |ev| {
            if let Event::Start { val_f1, val_cells } = ev {
                assert!(*val_cells >= 2);
                start = Some(*val_f1);
            }
            Control::Continue
        })
        .unwrap();
    let start = start.expect("the start is scored");
    assert!((start - base_f1).abs() < 1e-12, "{start} vs {base_f1}");
    let f1: Vec<f64> = history.epochs.iter().map(|r| r.val_f1.unwrap()).collect();
    assert_eq!(f1.len(), 2);
    assert!(f1.iter().all(|&f| f < start), "{f1:?} vs {start}");
    let kept = Predictor::load(&tuned, &device).unwrap();
    assert_eq!(kept.info().epoch, 0);
    let kept_f1 = predicted_f1(&kept, &val, &dir.path().join("pred-tuned"));
    assert!((kept_f1 - start).abs() < 1e-12, "{kept_f1} vs {start}");
}

/// Issue 29 (rehearsal): `rehearsal = N` adds N of the built-in start model's synthetic images
/// to the training items and none to the validation.
#[test]
fn rehearsal_adds_the_builtin_models_synthetic_images_to_training_only() {
    use deltacell_data::io::Rescale;
    use deltacell_nn::data::TrainingData;
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train");
    rectangle_set(&train, 4, 10);
    let open = |rehearsal: usize| {
        let text = format!(
            "preset = \"2D-cpu\"\n[models.seg]\ntarget_size = [32, 32]\nrehearsal = {rehearsal}\n\
             validation_split = 0.25\n"
        );
        let config = Config::from_toml(&text, std::path::Path::new("r.toml"), None).unwrap();
        assert_eq!(config.rescale, Rescale::MinMax);
        TrainingData::open(Kind::Seg, &config, &train, None, 1).unwrap()
    };
    let (with, without) = (open(2), open(0));
    assert_eq!(with.items().0, without.items().0 + 2);
    assert_eq!(with.items().1, without.items().1);
    assert!(
        with.summary()
            .contains("2 of them the start model's synthetic images"),
        "{}",
        with.summary()
    );
    assert!(!without.summary().contains("synthetic"));
}

/// Issue 29: a 16-bit set that uses a narrow part of the range (about 1 500 to 1 800 of 65 535,
/// as many phase-contrast cameras give) trains with the preset's defaults and its model finds
/// the cells; divided by the type's maximum instead, the same training finds none.
#[test]
fn a_narrow_range_16_bit_set_trains_with_the_defaults() {
    use deltacell_nn::data::TrainingData;
    let dir = tempfile::tempdir().unwrap();
    let (train, val) = (dir.path().join("train"), dir.path().join("val"));
    let range = (1500.0 / 65535.0, 1800.0 / 65535.0);
    rectangle_set_in(&train, 4, 10, range, deltacell_data::io::Depth::U16);
    rectangle_set_in(&val, 2, 50, range, deltacell_data::io::Depth::U16);
    let device = device::cpu();
    let f1_of = |rescale: &str| -> f64 {
        let text = format!(
            "preset = \"2D\"\n{rescale}[models.seg]\ntarget_size = [32, 32]\nbatch_size = 2\n\
             epochs = 1\nsteps_per_epoch = 60\npatience = 0\nvalidation_split = 0.0\n\
             filters = [8, 16]\nlearning_rate = 0.003\nmin_area = 4\n\
             [models.seg.augmentation]\n"
        );
        let config = Config::from_toml(&text, std::path::Path::new("narrow.toml"), None).unwrap();
        let spec = config.model(Kind::Seg).unwrap().unet_spec(Kind::Seg);
        let mut trainer = Trainer::new(spec, 1, Some(0.01), &device).unwrap();
        let mut options = FitOptions::from_config(&config, Kind::Seg).unwrap();
        let run = dir.path().join(format!("run{}", rescale.len()));
        options.run_dir = Some(RunDir::create(&run).unwrap());
        let data = TrainingData::open(Kind::Seg, &config, &train, None, 1).unwrap();
        data.fit(&mut trainer, &options, train::ignore_events)
            .unwrap();
        let predictor = Predictor::load(&run, &device).unwrap();
        predicted_f1(
            &predictor,
            &val,
            &dir.path().join(format!("pred{}", rescale.len())),
        )
    };
    let defaults = f1_of("");
    let dtype_max = f1_of("rescale = \"dtype_max\"\n");
    assert!(defaults >= 0.8, "F1 with the defaults: {defaults}");
    assert!(
        dtype_max < 0.2,
        "F1 divided by the type's maximum: {dtype_max}"
    );
}
