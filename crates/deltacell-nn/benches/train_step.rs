//! One training step and one inference of DeLTA's U-Net, deltacell and TF/Keras side by side in
//! the same run, printed as a table.
//!
//! ```text
//! cargo bench -p deltacell-nn --bench train_step [-- REPEATS] [half|full] [burn] [CASE…]
//! ```
//!
//! REPEATS timed runs (default 3) after one warm-up, the fastest reported for each side (on a
//! machine shared with other work the fastest run is the one least disturbed; both sides are
//! treated alike), with the least CPU time (user + system, all threads, of the process) a run
//! took on each side: the work done, which a loaded machine disturbs much less than the wall
//! time; both networks unless
//! `half` (32·2^l filters, 7.8 M parameters) or `full` (DeLTA's 64·2^l, 31.0 M) is given; CASE
//! any of `256` (train step, batch 2 at 256×256), `512` (batch 2 at 512×512, DeLTA's 2D preset),
//! `crop` (batch 8 at 256×32, the mother-machine preset), `infer` (inference, batch 1 at
//! 256×256), all four by default; `burn` runs burn's own convolutions instead of deltacell's
//! kernels, for comparison. `DELTACELL_BENCH_DEVICE=cuda:0` benchmarks a GPU build (feature
//! `cuda`). Threads: rayon's default (all cores) unless `RAYON_NUM_THREADS` is set; TF gets the
//! same count.
//!
//! `-- layers [half|full] [CASE] [level=L] [pass=forward|weight|input]` times every convolution
//! of the network alone (forward, weight gradient, input gradient; GFLOPS counted as a direct
//! convolution, and CPU ms), or only those of level `L` and one pass (to profile them), and
//! `-- peak` the machine's single-precision FMA peak (one and all threads) and the
//! micro-kernels' GFLOPS on the Winograd products' shapes. `DELTACELL_SIMD=avx2` (or
//! `portable`) runs deltacell's kernels on the AVX2 (or plain Rust) path on an AVX-512 machine;
//! `ONEDNN_MAX_CPU_ISA=AVX2` limits TF's oneDNN likewise, for an AVX2-to-AVX2 comparison.
//!
//! `-- equiv [STEPS]` instead trains the half network for STEPS steps (default 60, batch 8 at
//! 256×32, four batches in turn) with Winograd, with the direct kernels and with burn's
//! convolutions, and prints the loss every ten steps: Winograd's curve against the spread of
//! the two others, which differ only in rounding.
//!
//! Every case runs in a child process of its own (this binary re-executed with `--child`) so that
//! its peak RSS (`VmHWM`) is the case's alone.
//!
//! **The TF side.** With `DELTACELL_TF_PYTHON=/path/to/python` the same cases run, case by case
//! right after deltacell's, on TensorFlow/Keras with DeLTA's own `delta.model.unet_seg` through
//! `scripts/tf_train_step.py` (`train_on_batch` / `predict_on_batch`, one process per case, the
//! same thread count, one inter-op thread). Install it with
//!
//! ```text
//! python3 -m venv /work/venv-tf && /work/venv-tf/bin/pip install tensorflow-cpu delta2
//! DELTACELL_TF_PYTHON=/work/venv-tf/bin/python RAYON_NUM_THREADS=2 \
//!     cargo bench -p deltacell-nn --bench train_step
//! ```
//!
//! Without it the TF column says it was not measured: no stored figures are printed as if
//! measured (machines differ; a speed claim is only a ratio measured in one run).

use std::process::Command;
use std::time::Instant;

use deltacell_nn::infer::Predictor;
use deltacell_nn::run_dir::ModelInfo;
use deltacell_nn::{Batch, Kind, Trainer, UnetSpec};

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

/// One benchmark case: a training step (`train`) or an inference, on a batch of `n × h × w`.
#[derive(Clone, Copy)]
struct Case {
    key: &'static str,
    train: bool,
    n: usize,
    h: usize,
    w: usize,
}

const CASES: [Case; 4] = [
    Case {
        key: "256",
        train: true,
        n: 2,
        h: 256,
        w: 256,
    },
    Case {
        key: "512",
        train: true,
        n: 2,
        h: 512,
        w: 512,
    },
    Case {
        key: "crop",
        train: true,
        n: 8,
        h: 256,
        w: 32,
    },
    Case {
        key: "infer",
        train: false,
        n: 1,
        h: 256,
        w: 256,
    },
];

impl Case {
    fn label(&self) -> String {
        let what = if self.train {
            "train step"
        } else {
            "inference"
        };
        format!("{what}, batch {} at {}×{}", self.n, self.h, self.w)
    }
}

fn spec(net: &str) -> UnetSpec {
    if net == "half" {
        UnetSpec::with_filters(Kind::Seg, vec![32, 64, 128, 256, 512])
    } else {
        UnetSpec::delta(Kind::Seg)
    }
}

/// This process's peak resident set (`VmHWM`), in MB, where Linux reports it.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The child: runs one case and prints `RESULT <fastest ms> <peak RSS MB> <last loss> <first
/// loss> <median ms> <least CPU ms>` (the losses of a training case: the first step's, before
/// any update, and the last's; `scripts/gpu-check.sh` compares them between devices; the CPU
/// time is the process's, all threads, of the run that used least).
fn child(args: &[String]) {
    let net = args[0].as_str();
    let case = CASES
        .iter()
        .find(|c| c.key == args[1])
        .copied()
        .expect("case");
    let repeats: usize = args[2].parse().expect("repeats");
    let device = match std::env::var("DELTACELL_BENCH_DEVICE") {
        Ok(name) => deltacell_nn::device::parse(&name).expect("device"),
        Err(_) => deltacell_nn::device::cpu(),
    };
    let spec = spec(net);
    let b = batch(case.n, case.h, case.w);
    let (mut first_loss, mut loss) = (f64::NAN, f64::NAN);
    let runs: Vec<(f64, f64)> = if case.train {
        let mut trainer = Trainer::new(spec, 1, None, &device).expect("model");
        first_loss = trainer.step(&b).expect("warm-up").loss;
        (0..repeats)
            .map(|_| {
                let (t, c) = (Instant::now(), cpu_ms());
                loss = trainer.step(&b).expect("step").loss;
                (t.elapsed().as_secs_f64() * 1e3, cpu_ms() - c)
            })
            .collect()
    } else {
        let trainer = Trainer::new(spec.clone(), 1, None, &device).expect("model");
        let info = ModelInfo::new(spec, [case.h, case.w]);
        let p = Predictor::from_model(trainer.model(), info, &device);
        p.predict_logits(&b).expect("warm-up");
        (0..repeats)
            .map(|_| {
                let (t, c) = (Instant::now(), cpu_ms());
                p.predict_logits(&b).expect("predict");
                (t.elapsed().as_secs_f64() * 1e3, cpu_ms() - c)
            })
            .collect()
    };
    let times: Vec<f64> = runs.iter().map(|r| r.0).collect();
    println!(
        "RESULT {} {} {loss} {first_loss} {} {}",
        times.iter().copied().fold(f64::INFINITY, f64::min),
        peak_rss_mb().unwrap_or(f64::NAN),
        median(times.clone()),
        runs.iter().map(|r| r.1).fold(f64::INFINITY, f64::min)
    );
}

/// The child of `equiv`: STEPS training steps of the half network from seed 1 on a sequence of
/// batches, printing `LOSS <step> <loss>` every ten steps.
fn curve(args: &[String]) {
    let steps: usize = args[0].parse().expect("steps");
    let device = deltacell_nn::device::cpu();
    let spec = spec("half");
    let mut trainer = Trainer::new(spec, 1, None, &device).expect("model");
    // Four batches of 8 at 256×32 in turn: blobs whose labels the network can learn.
    let batches: Vec<Batch> = (0..4)
        .map(|k| {
            let mut b = Batch::zeros(8, 256, 32, 1, 2);
            for (i, (x, y)) in b.x.iter_mut().zip(b.y.chunks_mut(2)).enumerate() {
                let (r, c) = ((i / 32) % 256, i % 32);
                let cell = ((r / 12 + k + i / (256 * 32)) % 3 == 0) && (4..28).contains(&c);
                let noise = ((i * 7919 + k * 104_729) % 1000) as f32 / 5000.0;
                *x = if cell { 0.3 } else { 0.7 } + noise;
                y[0] = cell as u8 as f32;
                y[1] = if cell { 2.0 } else { 1.0 };
            }
            b
        })
        .collect();
    for s in 0..steps {
        let loss = trainer.step(&batches[s % 4]).expect("step").loss;
        if (s + 1) % 10 == 0 {
            println!("LOSS {} {loss}", s + 1);
        }
    }
}

/// `equiv [STEPS]`: the loss curve of the half network trained with Winograd, with the direct
/// kernels and with burn's convolutions (each its own rounding: the spread between the last two
/// is the noise Winograd's difference is judged against).
fn equivalence(args: &[String]) {
    let steps = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(60usize)
        .to_string();
    let exe = std::env::current_exe().expect("exe");
    println!("half network, batch 8 at 256×32, Adam 1e-4, loss after each 10 steps");
    let mut rows = Vec::new();
    for mode in ["winograd", "direct", "burn"] {
        let out = Command::new(&exe)
            .args(["--child", "curve", &steps, mode])
            .output()
            .expect("child");
        let losses: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("LOSS "))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
            .collect();
        rows.push((mode, losses));
    }
    for (mode, losses) in rows {
        println!("| {mode} | {} |", losses.join(" | "));
    }
}

/// `layers [half|full] [CASE]`: every convolution of the network at the case's shapes, timed
/// alone (forward, weight gradient, input gradient; fastest of three), with its GFLOPS counted
/// as a direct convolution (`2 · n · cout · cin · kh · kw · out_h · out_w` per pass), so that
/// the kernels can be compared with the machine's peak (`peak`).
fn layers(args: &[String]) {
    use deltacell_nn::conv::{self, Geometry};
    let net = if args.iter().any(|a| a == "half") {
        "half"
    } else {
        "full"
    };
    let case = CASES
        .iter()
        .find(|c| args.iter().any(|a| a == c.key))
        .copied()
        .unwrap_or(CASES[0]);
    let f: Vec<usize> = if net == "half" {
        vec![32, 64, 128, 256, 512]
    } else {
        vec![64, 128, 256, 512, 1024]
    };
    // `level=L`: only that level's convolutions; `pass=…`: only that pass (the others print 0).
    let arg = |key: &str| args.iter().find_map(|a| a.strip_prefix(key));
    let level: Option<usize> = arg("level=").and_then(|v| v.parse().ok());
    let pass = arg("pass=");
    let timed = |name: &str| pass.is_none_or(|p| p == name);
    let values = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect()
    };
    // Fastest of three (wall ms, and the process's CPU ms of that run).
    let time = |name: &str, f: &mut dyn FnMut()| -> (f64, f64) {
        if !timed(name) {
            return (0.0, 0.0);
        }
        f();
        (0..3)
            .map(|_| {
                let (t, c) = (Instant::now(), cpu_ms());
                f();
                (t.elapsed().as_secs_f64() * 1e3, cpu_ms() - c)
            })
            .fold((f64::INFINITY, 0.0), |a, b| if b.0 < a.0 { b } else { a })
    };
    println!(
        "{net} network, {}: ms per pass (GFLOPS counted as a direct convolution; CPU ms of all \
         threads)",
        case.label()
    );
    conv::tune_allocator();
    println!("| layer | forward | weight grad | input grad |");
    println!("|---|---|---|---|");
    let (n, h, w) = (case.n, case.h, case.w);
    let (mut total, mut total_cpu) = (0.0, 0.0);
    // Wall ms (GFLOPS as direct convolution; CPU ms of all threads).
    let cell =
        |(ms, cpu): (f64, f64), flops: f64| format!("{ms:.1} ({:.0}; {cpu:.0})", flops / ms / 1e6);
    // 3×3 convolutions: (level, cin, cout, skip channels for the concatenated ones).
    let mut convs = vec![(0, 1, f[0], 0), (0, f[0], f[0], 0)];
    for l in 1..f.len() {
        convs.push((l, f[l - 1], f[l], 0));
        convs.push((l, f[l], f[l], 0));
    }
    for l in (0..f.len() - 1).rev() {
        convs.push((l, 2 * f[l], f[l], f[l]));
        convs.push((l, f[l], f[l], 0));
    }
    for &(l, cin, cout, skip) in &convs {
        if level.is_some_and(|v| v != l) {
            continue;
        }
        let g = Geometry {
            n,
            cin,
            h: h >> l,
            w: w >> l,
            cout,
            kh: 3,
            kw: 3,
            pad: [1; 4],
        };
        let flops = 2.0 * (n * cin * cout * 9 * g.h * g.w) as f64;
        let x = values(n * cin * g.h * g.w);
        let wt = values(cout * cin * 9);
        let b = values(cout);
        let dz = values(n * cout * g.h * g.w);
        let (fw, wg, ig) = if skip > 0 {
            let (x0, x1) = x.split_at(n * skip * g.h * g.w);
            (
                time("forward", &mut || {
                    drop(conv::forward_cat(&g, [x0, x1], skip, &wt, Some(&b), true))
                }),
                time("weight", &mut || {
                    drop(conv::weight_grad_cat(&g, [x0, x1], skip, &dz))
                }),
                time("input", &mut || {
                    drop(conv::input_grad_cat(&g, &wt, &dz, skip))
                }),
            )
        } else {
            (
                time("forward", &mut || {
                    drop(conv::forward(&g, &x, &wt, Some(&b), true))
                }),
                time("weight", &mut || drop(conv::weight_grad(&g, &x, &dz))),
                time("input", &mut || drop(conv::input_grad(&g, &wt, &dz))),
            )
        };
        total += fw.0 + wg.0 + ig.0;
        total_cpu += fw.1 + wg.1 + ig.1;
        println!(
            "| L{l} 3×3 {cin}→{cout} at {}×{} | {} | {} | {} |",
            g.h,
            g.w,
            cell(fw, flops),
            cell(wg, flops),
            cell(ig, flops)
        );
    }
    for l in (0..f.len() - 1).rev() {
        if level.is_some_and(|v| v != l) || pass.is_some() {
            continue;
        }
        let (c, cout, lh, lw) = (f[l + 1], f[l], h >> (l + 1), w >> (l + 1));
        let flops = 2.0 * (n * c * cout * 4 * 4 * lh * lw) as f64;
        let x = values(n * c * lh * lw);
        let wt = values(cout * c * 4);
        let b = values(cout);
        let dz = values(n * cout * 4 * lh * lw);
        let fw = time("up", &mut || {
            drop(conv::up_forward([n, c, lh, lw], &x, &wt, Some(&b), true))
        });
        let bw = time("up", &mut || {
            drop(conv::up_backward([n, c, lh, lw], &x, &wt, &dz, true))
        });
        total += fw.0 + bw.0;
        total_cpu += fw.1 + bw.1;
        println!(
            "| L{l} up 2×2 {c}→{cout} at {}×{} | {} | {} (both) | |",
            2 * lh,
            2 * lw,
            cell(fw, flops),
            cell(bw, 2.0 * flops)
        );
    }
    println!("sum of the passes: {total:.0} ms wall, {total_cpu:.0} ms CPU");
}

/// CPU time of this process (all threads) in ms, where Linux reports it (0 elsewhere).
fn cpu_ms() -> f64 {
    #[cfg(target_os = "linux")]
    {
        #[repr(C)]
        struct Timespec {
            sec: i64,
            nsec: i64,
        }
        extern "C" {
            fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
        }
        let mut ts = Timespec { sec: 0, nsec: 0 };
        // SAFETY: CLOCK_PROCESS_CPUTIME_ID (2) into a valid timespec.
        if unsafe { clock_gettime(2, &mut ts) } == 0 {
            return ts.sec as f64 * 1e3 + ts.nsec as f64 / 1e6;
        }
    }
    0.0
}

/// `peak`: the machine's single-precision FMA throughput, one and all threads, with the widest
/// vectors the CPU has (independent FMA chains, nothing from memory).
fn peak() {
    let threads = rayon::current_num_threads();
    for t in [1, threads] {
        let (gflops, isa) = deltacell_nn::conv::fma_peak_gflops(t);
        println!("FMA peak, {t} thread(s), {isa}: {gflops:.1} GFLOPS");
    }
    // The Winograd products: U[ξ] (cout × cin) · V[ξ] (cin × tiles), one thread.
    for shape in [
        [64, 64, 4],
        [128, 128, 4],
        [256, 256, 2],
        [512, 512, 2],
        [1024, 1024, 1],
    ] {
        let (gflops, isa) = deltacell_nn::conv::gemm_gflops(shape);
        println!(
            "micro-kernel product {}×{} · {}×{}, 1 thread, {isa}: {gflops:.1} GFLOPS",
            shape[0],
            shape[1],
            shape[1],
            32 * shape[2]
        );
    }
}

/// A measured side: fastest ms, least CPU ms and peak RSS in MB.
struct Measured {
    ms: f64,
    cpu_ms: f64,
    rss_mb: f64,
}

fn run_ours(net: &str, case: &Case, repeats: usize, burn: bool) -> Result<Measured, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.args(["--child", net, case.key, &repeats.to_string()]);
    if burn {
        cmd.arg("burn");
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| {
            format!(
                "child failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
    let f: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(f64::NAN))
        .collect();
    Ok(Measured {
        ms: f[0],
        cpu_ms: f.get(5).copied().unwrap_or(f64::NAN),
        rss_mb: f[1],
    })
}

/// A number after `"key":` in a one-line JSON object (the TF script's output).
fn json_number(line: &str, key: &str) -> Option<f64> {
    let rest = &line[line.find(&format!("\"{key}\":"))? + key.len() + 3..];
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

/// A string after `"key":` in a one-line JSON object.
fn json_string(line: &str, key: &str) -> Option<String> {
    let rest = &line[line.find(&format!("\"{key}\": \""))? + key.len() + 5..];
    Some(rest[..rest.find('"')?].to_string())
}

fn run_tf(
    python: &str,
    net: &str,
    case: &Case,
    repeats: usize,
    threads: usize,
    versions: &mut Option<String>,
) -> Result<Measured, String> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/tf_train_step.py"
    );
    let out = Command::new(python)
        .arg(script)
        .args(["--net", net])
        .args(["--case", if case.train { "train" } else { "infer" }])
        .args(["--batch", &case.n.to_string()])
        .args(["--height", &case.h.to_string()])
        .args(["--width", &case.w.to_string()])
        .args(["--repeats", &repeats.to_string()])
        .args(["--threads", &threads.to_string()])
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(3).collect();
            format!("TF script failed: {}", tail.join(" / "))
        })?;
    if versions.is_none() {
        *versions = Some(format!(
            "TensorFlow {}, Keras {}",
            json_string(line, "tensorflow").unwrap_or_default(),
            json_string(line, "keras").unwrap_or_default()
        ));
    }
    Ok(Measured {
        ms: json_number(line, "ms").ok_or("no ms")?,
        cpu_ms: json_number(line, "cpu_ms").unwrap_or(f64::NAN),
        rss_mb: json_number(line, "peak_rss_mb").unwrap_or(f64::NAN),
    })
}

fn main() {
    // `cargo bench` adds `--bench`.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--child") {
        if args.iter().any(|a| a == "burn") {
            deltacell_nn::conv::use_burn_kernels(true);
        }
        if args.iter().any(|a| a == "direct") {
            deltacell_nn::conv::use_winograd(false);
        }
        if args.get(1).map(String::as_str) == Some("curve") {
            curve(&args[2..]);
        } else {
            child(&args[1..]);
        }
        return;
    }
    if args.iter().any(|a| a == "equiv") {
        equivalence(&args);
        return;
    }
    if args.iter().any(|a| a == "layers") {
        layers(&args);
        return;
    }
    if args.iter().any(|a| a == "peak") {
        peak();
        return;
    }
    let repeats: usize = args
        .iter()
        .find_map(|a| a.parse().ok().filter(|&r: &usize| r > 0 && r < 100))
        .unwrap_or(3);
    let burn = args.iter().any(|a| a == "burn");
    let nets: Vec<&str> = match args.iter().find(|a| *a == "half" || *a == "full") {
        Some(w) => vec![w.as_str()],
        None => vec!["half", "full"],
    };
    let mut cases: Vec<Case> = CASES
        .iter()
        .filter(|c| args.iter().any(|a| a == c.key))
        .copied()
        .collect();
    if cases.is_empty() {
        cases = CASES.to_vec();
    }
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    let python = std::env::var("DELTACELL_TF_PYTHON").ok();
    println!(
        "{repeats} repeats after a warm-up, fastest of them; {threads} threads each side; \
         convolutions: {}",
        if burn { "burn flex" } else { "deltacell" }
    );
    if python.is_none() {
        println!(
            "TF column missing: set DELTACELL_TF_PYTHON to a Python with tensorflow-cpu and \
             delta2 (see this bench's doc comment) to measure TF/Keras in the same run"
        );
    }
    println!(
        "| network | case | deltacell | TF/Keras | ratio | CPU time deltacell / TF | CPU ratio \
         | peak RSS deltacell | peak RSS TF |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut versions = None;
    for net in nets {
        let name = format!("{net} ({:.1} M)", spec(net).param_count() as f64 / 1e6);
        for case in &cases {
            let ours = run_ours(net, case, repeats, burn);
            let tf = python
                .as_deref()
                .map(|py| run_tf(py, net, case, repeats, threads, &mut versions));
            let cell = |m: &Result<Measured, String>| match m {
                Ok(m) => (format!("{:.0} ms", m.ms), format!("{:.0} MB", m.rss_mb)),
                Err(e) => (format!("failed ({e})"), "–".into()),
            };
            let cpu = |m: &Result<Measured, String>| match m {
                Ok(m) => format!("{:.0}", m.cpu_ms),
                Err(_) => "–".into(),
            };
            let (ours_ms, ours_rss) = cell(&ours);
            let (tf_ms, tf_rss, ratio, cpus, cpu_ratio) = match &tf {
                None => (
                    "not measured".into(),
                    "–".into(),
                    "–".into(),
                    format!("{} / –", cpu(&ours)),
                    "–".into(),
                ),
                Some(t) => {
                    let (ms, rss) = cell(t);
                    let (ratio, cpu_ratio) = match (&ours, t) {
                        (Ok(a), Ok(b)) => (
                            format!("{:.2}×", a.ms / b.ms),
                            format!("{:.2}×", a.cpu_ms / b.cpu_ms),
                        ),
                        _ => ("–".into(), "–".into()),
                    };
                    (
                        ms,
                        rss,
                        ratio,
                        format!("{} / {} ms", cpu(&ours), cpu(t)),
                        cpu_ratio,
                    )
                }
            };
            println!(
                "| {name} | {} | {ours_ms} | {tf_ms} | {ratio} | {cpus} | {cpu_ratio} \
                 | {ours_rss} | {tf_rss} |",
                case.label()
            );
        }
    }
    if let Some(v) = versions {
        println!("TF side: {v}, DeLTA's delta.model.unet_seg (scripts/tf_train_step.py)");
    }
}
