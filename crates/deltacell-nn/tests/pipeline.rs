//! The data bridge: batches from synthetic training sets have the shapes the models take.

use deltacell_data::synth::{generate, SynthKind};
use deltacell_nn::config::Config;
use deltacell_nn::data::TrainingData;
use deltacell_nn::Kind;

fn synth(kind: SynthKind, n: usize, dir: &std::path::Path) {
    generate(kind, n, 3, dir, &|_, _| {}).unwrap();
}

#[test]
fn seg_and_track_batches_fit_the_models() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config::preset("mothermachine").unwrap();
    for (kind, sk, channels) in [
        (Kind::Seg, SynthKind::MmSeg, 1),
        (Kind::Track, SynthKind::MmTrack, 4),
    ] {
        let dir = tmp.path().join(sk.name());
        synth(sk, 20, &dir);
        let data = TrainingData::open(kind, &config, &dir, None, 1).unwrap();
        let (train_items, val_items) = data.items();
        assert_eq!(train_items + val_items, 20, "{kind}");
        assert!(val_items >= 1, "a 5% split keeps at least one file");
        let m = config.model(kind).unwrap();
        let (mut train, val) = data.into_sources();
        let mut val = val.expect("validation split");
        for step in 0..3 {
            let b = train(0, step).unwrap();
            assert_eq!(
                (b.n, b.height, b.width, b.in_channels, b.out_channels),
                (m.batch_size, 256, 32, channels, 2),
                "{kind}"
            );
            assert!(b.x.iter().all(|v| v.is_finite()));
            // Weights (channel 1 of the target) are non-negative and not all zero.
            let w: Vec<f32> = b.y.iter().skip(1).step_by(2).copied().collect();
            assert!(w.iter().all(|&v| v >= 0.0) && w.iter().any(|&v| v > 0.0));
        }
        // Validation batches are the same every epoch.
        let a = val(0, 0).unwrap();
        let b = val(5, 0).unwrap();
        assert_eq!(a.x, b.x);
    }
}

#[test]
fn rois_batches_and_val_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rois");
    let vdir = tmp.path().join("rois_val");
    synth(SynthKind::Rois, 3, &dir);
    synth(SynthKind::Rois, 1, &vdir);
    let mut config = Config::preset("mothermachine").unwrap();
    config.model_mut(Kind::Rois).unwrap().target_size = [128, 128];
    let data = TrainingData::open(Kind::Rois, &config, &dir, Some(&vdir), 1).unwrap();
    assert_eq!(data.items(), (3, 1));
    let (mut train, val) = data.into_sources();
    let b = train(0, 0).unwrap();
    assert_eq!((b.height, b.width, b.in_channels), (128, 128, 1));
    let v = val.unwrap()(0, 0).unwrap();
    assert_eq!((v.n, v.height, v.width), (1, 128, 128));
}
