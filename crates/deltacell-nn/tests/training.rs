//! Model shapes, training, save/load and the fit loop on small synthetic data.

use std::sync::atomic::Ordering;

use burn::module::Module;
use burn::tensor::Tensor;
use deltacell_nn::config::{Config, PRESETS};
use deltacell_nn::infer::Predictor;
use deltacell_nn::run_dir::{self, RunDir};
use deltacell_nn::train::{self, Control, Event, StopReason};
use deltacell_nn::{device, Batch, FitOptions, ModelKind, Trainer, UnetSpec};

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
    let seg = UnetSpec::delta(ModelKind::Seg).init(0, &device).unwrap();
    assert_eq!(seg.num_params(), 31_030_593);
    let track = UnetSpec::delta(ModelKind::Track).init(0, &device).unwrap();
    assert_eq!(track.num_params(), 31_032_321);
    // Smaller models: the module's own count against DeLTA's formula, plus the two small Keras
    // models DeLTA 2.0.7 built for the reference (402 625 and 1 863 425 parameters).
    for levels in 1..=4 {
        let spec = UnetSpec::with_levels(ModelKind::Seg, levels);
        let model = spec.init(0, &device).unwrap();
        assert_eq!(model.num_params(), spec.param_count(), "levels {levels}");
    }
    assert_eq!(
        UnetSpec::with_levels(ModelKind::Seg, 2).param_count(),
        402_625
    );
    assert_eq!(
        UnetSpec::with_levels(ModelKind::Track, 3).param_count(),
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
    let spec = UnetSpec::with_filters(ModelKind::Seg, vec![8, 16]);
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
    for kind in [ModelKind::Seg, ModelKind::Track, ModelKind::Rois] {
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
    let spec = UnetSpec::with_filters(ModelKind::Track, vec![4, 8, 8]);
    let mut trainer = Trainer::new(spec.clone(), 5, None, &device).unwrap();
    let b = rectangles(2, 16, 8, 4, 9);
    trainer.step(&b).unwrap();
    let info = run_dir::ModelInfo {
        format: 1,
        head: run_dir::Head::Logits,
        input_size: [16, 8],
        seed: 5,
        preset: Some("2D".into()),
        data_fingerprint: Some("abc".into()),
        epoch: 1,
        loss: 0.5,
        val_loss: None,
        architecture: spec.clone(),
    };
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
    let other = UnetSpec::with_filters(ModelKind::Track, vec![4, 8]);
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
    let spec = UnetSpec::with_filters(ModelKind::Seg, vec![4, 8]);
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
