//! Training is reproducible bit for bit for a given seed, thread count, instruction set and
//! build, at the full size of DeLTA's networks (64 to 1024 channels, five levels): two trainings
//! give the same `model.safetensors`, optimizer state and losses, and a run stopped and resumed
//! gives the uninterrupted one's, with rayon's threads pinned to 1 and to 2 and on every
//! instruction-set path of the convolution kernels (AVX-512, AVX2, portable).
//!
//! The tests here run in the CI's debug build at image sizes that still reach every level, both
//! Winograd tile sizes and the direct paths (64×64: F(4×4) on the top two levels, F(2×2) on the
//! third, image groups below, im2col tiles for the first layer and the 1×1 head; the small
//! network's 8-channel layers run on shifted views). The `#[ignore]`d ones train at the
//! presets' sizes (`cargo test --release -p deltacell-nn --test reproducibility -- --ignored`).

use std::sync::atomic::Ordering;
use std::sync::Mutex;

use burn::module::Module;

use deltacell_nn::conv::{force_isa, isa, Isa};
use deltacell_nn::run_dir::{self, RunDir};
use deltacell_nn::train::{self, Control, Event, StopReason};
use deltacell_nn::{device, Batch, FitOptions, Kind, Trainer, UnetSpec};

/// The instruction set is a process-wide setting: the tests that force one run one at a time.
static ISA: Mutex<()> = Mutex::new(());

/// Batch `(epoch, step)` of `n` samples of `h × w` (and the kind's input channels): a textured
/// background with bright rectangles ("cells"), labels, and pixel weights that vary (zeros
/// included, which the segmentation loss replaces by the predicted probability).
fn batch(kind: Kind, [n, h, w]: [usize; 3], epoch: usize, step: usize) -> Batch {
    let ci = kind.input_channels();
    let co = if kind == Kind::Rois { 1 } else { 2 };
    let mut b = Batch::zeros(n, h, w, ci, co);
    let mut s = ((1000 * epoch + step) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) + 1;
    let mut next = |m: usize| {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((s >> 33) as usize) % m
    };
    for k in 0..n {
        for p in 0..h * w {
            for c in 0..ci {
                b.x[(k * h * w + p) * ci + c] = 0.2 + next(100) as f32 / 1000.0;
            }
            if co == 2 {
                b.y[(k * h * w + p) * 2 + 1] = [0.0, 1.0, 2.5][next(3)];
            }
        }
        for _ in 0..4 {
            let (rh, rw) = (2 + next(h / 3), 2 + next(w / 3));
            let (r0, c0) = (next(h - rh), next(w - rw));
            for r in r0..r0 + rh {
                for c in c0..c0 + rw {
                    let p = k * h * w + r * w + c;
                    b.x[p * ci] = 0.8;
                    b.y[p * co] = 1.0;
                }
            }
        }
    }
    b
}

/// What a training leaves: the model's and the optimizer's bytes and the step losses.
#[derive(PartialEq)]
struct Outcome {
    model: Vec<u8>,
    optimizer: Vec<u8>,
    losses: Vec<f64>,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "model {} bytes, optimizer {} bytes, losses {:?}",
            self.model.len(),
            self.optimizer.len(),
            self.losses
        )
    }
}

/// `steps` training steps of `spec` from seed 5 on batches of `size`, in a rayon pool of
/// `threads` threads.
fn train_steps(spec: &UnetSpec, size: [usize; 3], steps: usize, threads: usize) -> Outcome {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let device = device::cpu();
        let mut trainer = Trainer::new(spec.clone(), 5, Some(1e-4), &device).unwrap();
        let losses = (0..steps)
            .map(|s| trainer.step(&batch(spec.kind, size, 0, s)).unwrap().loss)
            .collect();
        Outcome {
            model: run_dir::model_bytes(&trainer.model().valid()).unwrap(),
            optimizer: trainer.optimizer_bytes().unwrap(),
            losses,
        }
    })
}

/// Checks that two trainings give the same bytes, and returns the first.
fn twice_the_same(what: &str, run: impl Fn() -> Outcome) -> Outcome {
    let (a, b) = (run(), run());
    assert_eq!(a.losses, b.losses, "{what}: losses differ");
    assert!(a.model == b.model, "{what}: models differ ({a:?})");
    assert!(
        a.optimizer == b.optimizer,
        "{what}: optimizer states differ"
    );
    assert!(a.losses.iter().all(|l| l.is_finite() && *l > 0.0), "{a:?}");
    a
}

/// Trains with [`train::fit`] into a run folder `dir` (`epochs` × `steps`, from seed 5, on
/// [`batch`] of `size`), in a pool of `threads` threads; stops (as Ctrl-C does) after the
/// number of steps in `stop`, if any, and then resumes from the checkpoint in a fresh
/// [`Trainer`] to the end. Returns the best model's bytes and `history.csv` without its times.
fn fit(
    spec: &UnetSpec,
    size: [usize; 3],
    [epochs, steps]: [usize; 2],
    threads: usize,
    stop: Option<usize>,
    dir: &std::path::Path,
) -> (Vec<u8>, Vec<String>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let device = device::cpu();
        let mut options = FitOptions::new(epochs, steps);
        options.run_dir = Some(RunDir::create(dir).unwrap());
        options.seed = 5;
        options.input_size = [size[1], size[2]];
        let mut trainer = Trainer::new(spec.clone(), 5, Some(1e-4), &device).unwrap();
        let kind = spec.kind;
        let mut stop = stop;
        loop {
            let mut taken = 0;
            options.stop.store(false, Ordering::Relaxed);
            let (_, reason) = train::fit(
                &mut trainer,
                |e, s| Ok(batch(kind, size, e, s)),
                None,
                &options,
                |ev: &Event<'_>| {
                    if let Event::Step { .. } = ev {
                        taken += 1;
                        if Some(taken) == stop {
                            return Control::Stop;
                        }
                    }
                    Control::Continue
                },
            )
            .unwrap();
            if reason == StopReason::Completed {
                break;
            }
            assert_eq!(reason, StopReason::Interrupted);
            stop = None;
            let (resumed, state) = train::resume(&RunDir::open(dir).unwrap(), &device).unwrap();
            trainer = resumed;
            options.start = (state.next_epoch, state.next_step);
            options.best = (state.best_loss, state.epochs_without_improvement);
        }
        let history = std::fs::read_to_string(dir.join("history.csv"))
            .unwrap()
            .lines()
            .map(|l| {
                // Without the timing columns (6 and 7).
                let f: Vec<&str> = l.split(',').collect();
                [&f[..5], &f[7..]].concat().join(",")
            })
            .collect();
        (
            std::fs::read(dir.join("model.safetensors")).unwrap(),
            history,
        )
    })
}

/// Two fits and a stopped-and-resumed one give byte-identical models and the same history.
fn fits_agree(what: &str, spec: &UnetSpec, size: [usize; 3], shape: [usize; 2], stop: usize) {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let a = fit(spec, size, shape, 2, None, dirs[0].path());
    let b = fit(spec, size, shape, 2, None, dirs[1].path());
    let c = fit(spec, size, shape, 2, Some(stop), dirs[2].path());
    assert_eq!(a.1, b.1, "{what}: histories differ");
    assert!(a.0 == b.0, "{what}: models differ");
    assert_eq!(a.1, c.1, "{what}: the resumed run's history differs");
    assert!(a.0 == c.0, "{what}: the resumed run's model differs");
}

/// The full-size 2-D segmentation network (64–1024 channels) at 64×64, batch 2: two trainings
/// of 3 steps are byte-identical with 2 threads and with 1 (2 steps), and so on every other
/// instruction set this CPU runs (2 steps, 2 threads). Stopping and resuming is checked on the
/// small network below and at the presets' sizes by the `#[ignore]`d test.
#[test]
fn full_size_training_is_reproducible() {
    let _isa = ISA.lock().unwrap_or_else(|e| e.into_inner());
    let spec = UnetSpec::delta(Kind::Seg);
    let size = [2, 64, 64];
    let native = isa();
    let two = twice_the_same("2 threads", || train_steps(&spec, size, 3, 2));
    let one = twice_the_same("1 thread", || train_steps(&spec, size, 2, 1));
    // The same first step's loss to rounding (the thread count cuts the sums differently).
    assert!(
        (two.losses[0] / one.losses[0] - 1.0).abs() < 1e-4,
        "{two:?} {one:?}"
    );
    for other in Isa::available().into_iter().filter(|&i| i != native) {
        force_isa(other);
        let o = twice_the_same(other.name(), || train_steps(&spec, size, 2, 2));
        assert!(
            (o.losses[0] / one.losses[0] - 1.0).abs() < 1e-4,
            "{o:?} {one:?}"
        );
    }
    force_isa(native);
}

/// A small network whose 8-channel layers run on shifted views (the one direct path DeLTA's
/// full-size networks do not take) and the tracking network's 4 input channels.
#[test]
fn small_and_tracking_networks_train_reproducibly() {
    let _isa = ISA.lock().unwrap_or_else(|e| e.into_inner());
    let small = UnetSpec::with_filters(Kind::Seg, vec![8, 16, 32]);
    fits_agree("small", &small, [2, 64, 64], [2, 2], 3);
    let track = UnetSpec::with_filters(Kind::Track, vec![16, 32, 64]);
    for threads in [1, 2] {
        twice_the_same("tracking", || train_steps(&track, [2, 64, 32], 3, threads));
    }
}

/// The presets' sizes: DeLTA's 2-D segmentation network at 512×512 (batch 2) and the
/// mother-machine segmentation and tracking networks at 256×32, three steps, 2 threads and 1.
#[test]
#[ignore = "minutes in release; run by hand"]
fn preset_sizes_train_reproducibly() {
    let _isa = ISA.lock().unwrap_or_else(|e| e.into_inner());
    for (kind, size) in [
        (Kind::Seg, [2, 512, 512]),
        (Kind::Seg, [1, 256, 32]),
        (Kind::Track, [2, 256, 32]),
    ] {
        let spec = UnetSpec::delta(kind);
        let what = format!("{kind} {size:?}");
        fits_agree(&what, &spec, size, [1, 3], 2);
        twice_the_same(&what, || train_steps(&spec, size, 3, 1));
    }
}

/// The values of a `model.safetensors` (every tensor is `f32`; the header is the same for one
/// architecture, so the values line up).
fn values(model: &[u8]) -> Vec<f32> {
    let n = u64::from_le_bytes(model[..8].try_into().unwrap()) as usize;
    model[8 + n..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// How far two trainings apart: the largest difference of a weight, relative to the largest
/// weight, and the largest relative difference of a step's loss.
fn apart(a: &Outcome, b: &Outcome) -> (f32, f64) {
    let (va, vb) = (values(&a.model), values(&b.model));
    let scale = va.iter().fold(0f32, |m, v| m.max(v.abs()));
    let w = va
        .iter()
        .zip(&vb)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()))
        / scale;
    let l = a
        .losses
        .iter()
        .zip(&b.losses)
        .fold(0f64, |m, (x, y)| m.max((x - y).abs() / x.abs()));
    (w, l)
}

/// Not a check but the measurement the README quotes: how far apart trainings of the full-size
/// 2-D network (256×256, batch 2, 3 steps) end with another thread count or instruction set.
#[test]
#[ignore = "a measurement for the README; run by hand in release with --nocapture"]
fn differences_across_thread_counts_and_instruction_sets() {
    let _isa = ISA.lock().unwrap_or_else(|e| e.into_inner());
    let spec = UnetSpec::delta(Kind::Seg);
    let size = [2, 256, 256];
    let native = isa();
    let base = train_steps(&spec, size, 3, 2);
    println!("{} 2 threads: losses {:?}", native.name(), base.losses);
    for threads in [1, 4] {
        let other = train_steps(&spec, size, 3, threads);
        let (w, l) = apart(&base, &other);
        println!(
            "{} {threads} threads: losses {:?}; weights apart by {w:.1e} of the largest, losses by {l:.1e}",
            native.name(),
            other.losses
        );
    }
    for other_isa in Isa::available().into_iter().filter(|&i| i != native) {
        force_isa(other_isa);
        let other = train_steps(&spec, size, 3, 2);
        let (w, l) = apart(&base, &other);
        println!(
            "{} 2 threads: losses {:?}; weights apart by {w:.1e} of the largest, losses by {l:.1e}",
            other_isa.name(),
            other.losses
        );
    }
    force_isa(native);
}

/// One `deltacell train` run done the way the CLI does it (its preset, [`TrainingData`] on a
/// folder, [`FitOptions::from_config`], [`TrainingData::fit`] in a pool of `threads` threads),
/// with `epochs` × `steps` (the preset's steps when `None`); returns the model's bytes and
/// `history.csv` without its timing columns.
fn cli_like_run(
    preset: &str,
    kind: Kind,
    set: &std::path::Path,
    (epochs, steps, batch): (usize, Option<usize>, Option<usize>),
    out: &std::path::Path,
) -> (Vec<u8>, Vec<String>) {
    use deltacell_nn::config::Config;
    use deltacell_nn::data::TrainingData;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| {
        let mut config = Config::preset(preset).unwrap();
        let m = config.model_mut(kind).unwrap();
        m.epochs = epochs;
        if let Some(s) = steps {
            m.steps_per_epoch = s;
        }
        if let Some(b) = batch {
            m.batch_size = b;
        }
        let data = TrainingData::open(kind, &config, set, None, 1).unwrap();
        let mut trainer = Trainer::from_config(&config, kind, 1, &device::cpu()).unwrap();
        let mut options = FitOptions::from_config(&config, kind).unwrap();
        options.run_dir = Some(RunDir::create(out).unwrap());
        options.seed = 1;
        data.fit(&mut trainer, &options, train::log_epochs).unwrap();
        let history = std::fs::read_to_string(out.join("history.csv"))
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                [&f[..5], &f[7..]].concat().join(",")
            })
            .collect();
        (
            std::fs::read(out.join("model.safetensors")).unwrap(),
            history,
        )
    })
}

/// The acceptance runs through the library path `deltacell train` takes: the default
/// 2-D preset (512², batch 2) on a synthetic 2-D set, the mother-machine presets (segmentation
/// and tracking) on synthetic sets, 3 steps each, and, when `DELTACELL_REPRO_COLONIES` names
/// the training folder `scripts/real_colonies/prepare.py` writes, the `2D-cpu` preset for one
/// epoch on it (`DELTACELL_REPRO_CPU_STEPS` steps instead of the preset's 50 if set); twice
/// each with 2 threads, byte-identical models and equal histories.
#[test]
#[ignore = "minutes in release; run by hand"]
fn presets_through_training_data_are_reproducible() {
    use deltacell_data::synth::{self, SynthKind};
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for (name, kind, sk, preset, batch) in [
        ("2d-seg", Kind::Seg, SynthKind::TwoDSeg, "2D", Some(2)),
        ("mm-seg", Kind::Seg, SynthKind::MmSeg, "mothermachine", None),
        (
            "mm-track",
            Kind::Track,
            SynthKind::MmTrack,
            "mothermachine",
            None,
        ),
    ] {
        let set = dir.path().join(name);
        synth::generate(sk, 6, 1, &set, &|_, _| {}).unwrap();
        cases.push((name.to_string(), kind, set, preset, (1, Some(3), batch)));
    }
    if let Some(colonies) = std::env::var_os("DELTACELL_REPRO_COLONIES") {
        let steps = std::env::var("DELTACELL_REPRO_CPU_STEPS")
            .ok()
            .and_then(|s| s.parse().ok());
        let set = std::path::PathBuf::from(colonies);
        cases.push((
            "2D-cpu colonies".into(),
            Kind::Seg,
            set,
            "2D-cpu",
            (1, steps, None),
        ));
    }
    for (name, kind, set, preset, shape) in cases {
        let t0 = std::time::Instant::now();
        let a = cli_like_run(
            preset,
            kind,
            &set,
            shape,
            &dir.path().join(format!("{name}-a")),
        );
        let b = cli_like_run(
            preset,
            kind,
            &set,
            shape,
            &dir.path().join(format!("{name}-b")),
        );
        println!(
            "{name}: models {} ({} bytes), histories {}; {:.0} s for both\n{}",
            if a.0 == b.0 {
                "byte-identical"
            } else {
                "DIFFER"
            },
            a.0.len(),
            if a.1 == b.1 { "equal" } else { "DIFFER" },
            t0.elapsed().as_secs_f64(),
            a.1.join("\n")
        );
        assert!(a.0 == b.0, "{name}: models differ");
        assert_eq!(a.1, b.1, "{name}: histories differ");
    }
}
