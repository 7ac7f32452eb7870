//! One training step and one inference of DeLTA's U-Net, printed as a table.
//!
//! `cargo bench -p deltacell-nn --bench train_step [-- REPEATS [half|full] [burn]]` (default 3
//! timed repeats after one warm-up, both networks; the median is reported; `burn` runs burn's
//! own convolutions instead of deltacell's kernels, for comparison).
//!
//! Reference figures on the same machine kind (2 cores), measured for the **half-filter**
//! network (32·2^l, 5 levels; `shared/design/burn-notes.md`): TF/Keras CPU 896 ms (batch 2,
//! 256×256) and 458 ms (batch 8, 256×32) per step, inference 138 ms at 256×256. The full-size
//! network (64·2^l) has about 4× the arithmetic. `DELTACELL_BENCH_DEVICE=cuda:0` benchmarks a
//! GPU build (feature `cuda`).

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repeats: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(3);
    // `burn`: burn's own convolutions instead of deltacell's fused CPU kernels (for comparison).
    if args.iter().any(|a| a == "burn") {
        deltacell_nn::conv::use_burn_kernels(true);
    }
    let which: Vec<&str> = match args.iter().find(|a| *a == "half" || *a == "full") {
        Some(w) => vec![w.as_str()],
        None => vec!["half", "full"],
    };
    let device = match std::env::var("DELTACELL_BENCH_DEVICE") {
        Ok(name) => deltacell_nn::device::parse(&name).expect("device"),
        Err(_) => deltacell_nn::device::cpu(),
    };
    println!(
        "{repeats} repeats, median; threads {}; convolutions: {}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into()),
        if args.iter().any(|a| a == "burn") {
            "burn flex"
        } else {
            "deltacell"
        }
    );
    println!("| network | case | deltacell (burn flex) | TF/Keras CPU (half) | ratio |");
    println!("|---|---|---|---|---|");
    for net in which {
        let spec = if net == "half" {
            UnetSpec::with_filters(ModelKind::Seg, vec![32, 64, 128, 256, 512])
        } else {
            UnetSpec::delta(ModelKind::Seg)
        };
        let name = format!("{net} ({:.1} M params)", spec.param_count() as f64 / 1e6);
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
                "| {name} | train step, batch {n} at {h}×{w} | {m:.0} ms | {keras:.0} ms | {:.2}× |",
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
            "| {name} | inference, batch 1 at 256×256 | {m:.0} ms | 138 ms | {:.2}× |",
            m / 138.0
        );
    }
}
