//! One training step and one inference of the full-size DeLTA U-Net, printed as a table.
//!
//! `cargo bench -p deltacell-nn --bench train_step [-- REPEATS]` (default 5 timed repeats after
//! one warm-up; the median is reported). Reference figures on the same machine kind (2 cores):
//! TF/Keras CPU 896 ms (batch 2, 256×256) and 458 ms (batch 8, 256×32) per step, inference
//! 138 ms at 256×256. `DELTACELL_BENCH_DEVICE=cuda:0` benchmarks a GPU build (feature `cuda`).

use std::time::Instant;

use deltacell_nn::infer::Predictor;
use deltacell_nn::run_dir::{Head, ModelInfo};
use deltacell_nn::{Batch, ModelKind, Trainer, UnetSpec};

fn batch(n: usize, h: usize, w: usize) -> Batch {
    let mut b = Batch::zeros(n, h, w, 1, 2);
    for (i, v) in b.x.iter_mut().enumerate() {
        *v = ((i * 7919) % 1000) as f32 / 1000.0;
    }
    for (i, v) in b.y.chunks_mut(2).enumerate() {
        v[0] = ((i / 7) % 2) as f32;
        v[1] = 1.0 + (i % 3) as f32;
    }
    b
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let repeats: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let device = match std::env::var("DELTACELL_BENCH_DEVICE") {
        Ok(name) => deltacell_nn::device::parse(&name).expect("device"),
        Err(_) => deltacell_nn::device::cpu(),
    };
    let spec = UnetSpec::delta(ModelKind::Seg);
    println!(
        "full-size DeLTA U-Net ({} parameters), {repeats} repeats, median; threads {}",
        spec.param_count(),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into())
    );
    println!("| case | deltacell (burn flex) | TF/Keras CPU | ratio |");
    println!("|---|---|---|---|");
    for (n, h, w, keras) in [(2usize, 256usize, 256usize, 896.0), (8, 256, 32, 458.0)] {
        let mut trainer = Trainer::new(spec.clone(), 1, None, &device).expect("model");
        let b = batch(n, h, w);
        trainer.step(&b).expect("warm-up");
        let times: Vec<f64> = (0..repeats)
            .map(|_| {
                let t = Instant::now();
                trainer.step(&b).expect("step");
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let m = median(times);
        println!(
            "| train step, batch {n} at {h}×{w} | {m:.0} ms | {keras:.0} ms | {:.2}× |",
            m / keras
        );
    }
    let trainer = Trainer::new(spec.clone(), 1, None, &device).expect("model");
    let info = ModelInfo {
        format: 1,
        head: Head::Logits,
        input_size: [256, 256],
        seed: 1,
        preset: None,
        data_fingerprint: None,
        epoch: 0,
        loss: 0.0,
        val_loss: None,
        architecture: spec.clone(),
    };
    let p = Predictor::from_model(trainer.model(), info, &device);
    let b = batch(1, 256, 256);
    p.predict_logits(&b).expect("warm-up");
    let times: Vec<f64> = (0..repeats)
        .map(|_| {
            let t = Instant::now();
            p.predict_logits(&b).expect("predict");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let m = median(times);
    println!(
        "| inference, batch 1 at 256×256 | {m:.0} ms | 138 ms | {:.2}× |",
        m / 138.0
    );
}
