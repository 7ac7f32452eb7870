//! [`Loader`]: batches prepared on worker threads ahead of the consumer, deterministic per seed.
//!
//! # Determinism
//! Batch `g` (counted from the start, `epoch = g / steps_per_epoch`) holds the epoch's positions
//! `step·B .. step·B + B`. Position `p` is item `order_r[p mod len]`, where `order_r` is the
//! `r = p div len`-th shuffled permutation of the epoch (seeded by `(seed, epoch, r)`), and the
//! sample draws all of its randomness from `random::stream(seed, epoch, p)`. Nothing depends on
//! which thread builds it, so any number of workers gives the same batches.
//!
//! # Memory
//! A worker only starts batch `g` when `g < consumed + prefetch`, so at most `prefetch` batches
//! exist at any time (being built, queued or waiting to be handed over in order).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::Dataset;
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::random;

/// Options of [`Loader`]; TOML/JSON keys are the field names.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoaderOptions {
    /// Samples per batch. Default 8.
    pub batch_size: usize,
    /// The run's seed. Default 1 (DeLTA's default).
    pub seed: u64,
    /// Batches per epoch; `None` = `ceil(items / batch_size)`.
    pub steps_per_epoch: Option<usize>,
    /// Worker threads; 0 builds each batch when asked, its samples in parallel on rayon's
    /// pool. Default 2.
    pub workers: usize,
    /// Batches that may exist ahead of the consumer (memory bound), at least 1. Default 4.
    pub prefetch: usize,
    /// Shuffle every epoch; `None` = shuffle training datasets, keep evaluation ones in order.
    pub shuffle: Option<bool>,
}

impl Default for LoaderOptions {
    fn default() -> Self {
        LoaderOptions {
            batch_size: 8,
            seed: 1,
            steps_per_epoch: None,
            workers: 2,
            prefetch: 4,
            shuffle: None,
        }
    }
}

/// What the loader did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoaderStats {
    /// Batches handed to the consumer.
    pub batches: u64,
    /// Samples handed to the consumer.
    pub samples: u64,
    /// Total time the consumer waited in [`Loader::next_batch`] (0 when the loader keeps up).
    pub waited: Duration,
    /// The longest single wait.
    pub longest_wait: Duration,
    /// Total time spent building the handed-over batches, summed over workers.
    pub build: Duration,
}

/// The pure batch recipe shared by the consumer and the workers.
struct Plan {
    dataset: Arc<dyn Dataset>,
    batch_size: usize,
    steps: usize,
    seed: u64,
    shuffle: bool,
    /// Evaluation without explicit steps: the last batch of an epoch holds the remainder.
    partial_last: bool,
    /// Build the samples of a batch in parallel (rayon) when there is no worker thread.
    parallel_samples: bool,
}

/// A small per-thread cache of the epoch permutations in use.
#[derive(Default)]
struct Orders {
    cached: Vec<((u64, u64), Vec<usize>)>,
}

impl Orders {
    fn get(&mut self, plan: &Plan, epoch: u64, round: u64) -> &[usize] {
        let key = (epoch, round);
        if let Some(i) = self.cached.iter().position(|(k, _)| *k == key) {
            return &self.cached[i].1;
        }
        let mut order: Vec<usize> = (0..plan.dataset.len()).collect();
        if plan.shuffle {
            order.shuffle(&mut random::stream(plan.seed, epoch, u64::MAX - round));
        }
        if self.cached.len() >= 2 {
            self.cached.remove(0);
        }
        self.cached.push((key, order));
        &self.cached[self.cached.len() - 1].1
    }
}

impl Plan {
    fn build(&self, g: u64, orders: &mut Orders) -> Result<Batch> {
        let len = self.dataset.len();
        let epoch = g / self.steps as u64;
        let step = (g % self.steps as u64) as usize;
        let start = step * self.batch_size;
        let n = if self.partial_last {
            self.batch_size.min(len - start)
        } else {
            self.batch_size
        };
        let layout = self.dataset.layout();
        let mut batch = Batch::zeros(
            n,
            layout.height,
            layout.width,
            layout.in_channels,
            layout.out_channels,
        );
        let (xl, yl) = (layout.x_len(), layout.y_len());
        let items: Vec<usize> = (0..n as u64)
            .map(|k| {
                let p = start as u64 + k;
                orders.get(self, epoch, p / len as u64)[(p % len as u64) as usize]
            })
            .collect();
        let write = |(k, (x, y)): (usize, (&mut [f32], &mut [f32]))| {
            let mut rng = random::stream(self.seed, epoch, (start + k) as u64);
            self.dataset.write_sample(items[k], &mut rng, x, y)
        };
        if self.parallel_samples {
            batch
                .x
                .par_chunks_mut(xl)
                .zip(batch.y.par_chunks_mut(yl))
                .enumerate()
                .try_for_each(write)?;
        } else {
            batch
                .x
                .chunks_mut(xl)
                .zip(batch.y.chunks_mut(yl))
                .enumerate()
                .try_for_each(write)?;
        }
        Ok(batch)
    }
}

struct State {
    next_job: u64,
    consumed: u64,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

type Message = (u64, Result<Batch>, Duration);

struct Pool {
    shared: Arc<Shared>,
    rx: Option<Receiver<Message>>,
    pending: BTreeMap<u64, (Result<Batch>, Duration)>,
    handles: Vec<JoinHandle<()>>,
}

/// Batches from a [`Dataset`], prepared ahead of time on worker threads.
///
/// ```no_run
/// use std::sync::Arc;
/// use deltacell_data::dataset::{Loader, LoaderOptions, Mode, SegOptions, SegmentationDataset};
/// let ds = SegmentationDataset::open("training/seg", &SegOptions::default(), Mode::Training)?;
/// let mut loader = Loader::new(Arc::new(ds), LoaderOptions::default())?;
/// for _ in 0..loader.steps_per_epoch() {
///     let batch = loader.next_batch()?;
///     assert_eq!(batch.in_channels, 1);
/// }
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub struct Loader {
    plan: Arc<Plan>,
    next: u64,
    workers: usize,
    prefetch: usize,
    pool: Option<Pool>,
    orders: Orders,
    stats: LoaderStats,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("next", &self.next)
            .field("steps", &self.plan.steps)
            .field("batch_size", &self.plan.batch_size)
            .field(
                "workers",
                &self.pool.as_ref().map_or(0, |p| p.handles.len()),
            )
            .finish()
    }
}

impl Loader {
    /// A loader over `dataset`; starts `options.workers` threads that begin building at once.
    pub fn new(dataset: Arc<dyn Dataset>, options: LoaderOptions) -> Result<Self> {
        if options.batch_size == 0 {
            return Err(config("batch_size must be at least 1"));
        }
        if options.steps_per_epoch == Some(0) {
            return Err(config("steps_per_epoch must be at least 1"));
        }
        let len = dataset.len();
        if len == 0 {
            return Err(Error::Empty {
                what: "the dataset".into(),
            });
        }
        let layout = dataset.layout();
        if layout.x_len() == 0 || layout.y_len() == 0 {
            return Err(Error::Empty {
                what: format!("the sample layout {layout:?}"),
            });
        }
        // Batches in flight (prefetched, being built, held by the consumer) and each worker's
        // scratch planes: refused with the size before anything is allocated.
        let batch_bytes = crate::memory::product(&[
            options.batch_size as u64,
            (layout.x_len() + layout.y_len()) as u64,
            4,
        ]);
        let scratch = crate::memory::product(&[
            (layout.height * layout.width) as u64,
            16 * 4,
            options.workers.max(rayon::current_num_threads()) as u64,
        ]);
        let in_flight = options.prefetch.max(1) as u64 + 2;
        crate::memory::ensure_fits(
            batch_bytes
                .saturating_mul(in_flight)
                .saturating_add(scratch),
            &format!(
                "batches of {} samples of {}×{} pixels × {} channels ({} in flight)",
                options.batch_size,
                layout.height,
                layout.width,
                layout.in_channels + layout.out_channels,
                in_flight
            ),
            "lower batch_size, target_size or prefetch",
        )?;
        let shuffle = options.shuffle.unwrap_or_else(|| dataset.is_training());
        let steps = options
            .steps_per_epoch
            .unwrap_or_else(|| len.div_ceil(options.batch_size));
        let plan = Arc::new(Plan {
            dataset,
            batch_size: options.batch_size,
            steps,
            seed: options.seed,
            shuffle,
            partial_last: !shuffle && options.steps_per_epoch.is_none(),
            parallel_samples: options.workers == 0,
        });
        let pool = (options.workers > 0)
            .then(|| Pool::start(&plan, options.workers, options.prefetch.max(1), 0));
        Ok(Loader {
            plan,
            next: 0,
            workers: options.workers,
            prefetch: options.prefetch.max(1),
            pool,
            orders: Orders::default(),
            stats: LoaderStats::default(),
        })
    }

    /// Batches per epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.plan.steps
    }

    /// `(epoch, step)` of the batch the next call to [`Loader::next_batch`] returns.
    pub fn position(&self) -> (u64, usize) {
        let s = self.plan.steps as u64;
        (self.next / s, (self.next % s) as usize)
    }

    /// Statistics so far.
    pub fn stats(&self) -> LoaderStats {
        self.stats
    }

    /// The next batch, in order: epoch 0 step 0, step 1, …, then epoch 1, and so on forever.
    pub fn next_batch(&mut self) -> Result<Batch> {
        let g = self.next;
        let (batch, build) = match &mut self.pool {
            None => {
                let t0 = Instant::now();
                let b = self.plan.build(g, &mut self.orders);
                (b, t0.elapsed())
            }
            Some(pool) => {
                let t0 = Instant::now();
                let got = pool.take(g);
                let waited = t0.elapsed();
                self.stats.waited += waited;
                self.stats.longest_wait = self.stats.longest_wait.max(waited);
                got?
            }
        };
        self.next += 1;
        self.stats.build += build;
        let batch = batch?;
        self.stats.batches += 1;
        self.stats.samples += batch.n as u64;
        Ok(batch)
    }

    /// Moves the stream so that the next call to [`Loader::next_batch`] returns batch `step` of
    /// `epoch` (e.g. to resume a training run there). The worker threads are restarted at that
    /// batch; what they had prepared is dropped. Nothing happens when the stream is already
    /// there.
    pub fn seek(&mut self, epoch: u64, step: usize) -> Result<()> {
        let g = self.stream_index(epoch, step)?;
        if g == self.next {
            return Ok(());
        }
        // Stop the old workers before starting new ones.
        self.pool = None;
        self.next = g;
        if self.workers > 0 {
            self.pool = Some(Pool::start(&self.plan, self.workers, self.prefetch, g));
        }
        Ok(())
    }

    /// Batch `step` of `epoch`, built on the calling thread (the same batch the workers give).
    pub fn batch_at(&self, epoch: u64, step: usize) -> Result<Batch> {
        let g = self.stream_index(epoch, step)?;
        self.plan.build(g, &mut Orders::default())
    }

    /// The number in the stream of batch `step` of `epoch`: [`Error::IndexOutOfRange`] when
    /// `step` is not a step of an epoch, [`Error::OutOfRange`] when `epoch` is too large to
    /// count its batches in 64 bits.
    fn stream_index(&self, epoch: u64, step: usize) -> Result<u64> {
        let steps = self.plan.steps;
        if step >= steps {
            return Err(Error::IndexOutOfRange {
                what: "step",
                index: step,
                len: steps,
                within: "epoch",
            });
        }
        epoch
            .checked_mul(steps as u64)
            .and_then(|b| b.checked_add(step as u64))
            .ok_or_else(|| {
                Error::out_of_range(
                    "epoch",
                    epoch,
                    format!("at most {}", (u64::MAX - step as u64) / steps as u64),
                )
            })
    }
}

impl Iterator for Loader {
    type Item = Result<Batch>;

    /// Never `None`: the stream of batches is endless.
    fn next(&mut self) -> Option<Result<Batch>> {
        Some(self.next_batch())
    }
}

impl Pool {
    /// Workers building batches `first, first + 1, …`.
    fn start(plan: &Arc<Plan>, workers: usize, window: usize, first: u64) -> Pool {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_job: first,
                consumed: first,
                stop: false,
            }),
            wake: Condvar::new(),
        });
        // Never more than `window` messages in flight, so sends never block.
        let (tx, rx) = sync_channel::<Message>(window);
        let handles = (0..workers)
            .map(|_| {
                let (plan, shared, tx) = (Arc::clone(plan), Arc::clone(&shared), tx.clone());
                std::thread::spawn(move || {
                    let mut orders = Orders::default();
                    loop {
                        let g = {
                            let Ok(mut st) = shared.state.lock() else {
                                return;
                            };
                            loop {
                                if st.stop {
                                    return;
                                }
                                if st.next_job < st.consumed + window as u64 {
                                    break;
                                }
                                st = match shared.wake.wait(st) {
                                    Ok(s) => s,
                                    Err(_) => return,
                                };
                            }
                            st.next_job += 1;
                            st.next_job - 1
                        };
                        let t0 = Instant::now();
                        let batch = catch_unwind(AssertUnwindSafe(|| plan.build(g, &mut orders)))
                            .unwrap_or_else(|_| {
                                orders = Orders::default();
                                Err(Error::BatchPanicked { batch: g })
                            });
                        if tx.send((g, batch, t0.elapsed())).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        Pool {
            shared,
            rx: Some(rx),
            pending: BTreeMap::new(),
            handles,
        }
    }

    /// Waits for batch `g` (batches arrive in any order and are handed over in order).
    fn take(&mut self, g: u64) -> Result<(Result<Batch>, Duration)> {
        let got = match self.pending.remove(&g) {
            Some(b) => b,
            None => loop {
                let rx = self.rx.as_ref().ok_or_else(stopped)?;
                let (j, b, d) = rx.recv().map_err(|_| stopped())?;
                if j == g {
                    break (b, d);
                }
                self.pending.insert(j, (b, d));
            },
        };
        if let Ok(mut st) = self.shared.state.lock() {
            st.consumed = g + 1;
        }
        self.shared.wake.notify_all();
        Ok(got)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Ok(mut st) = self.shared.state.lock() {
            st.stop = true;
        }
        self.shared.wake.notify_all();
        self.rx = None;
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

fn stopped() -> Error {
    Error::LoaderStopped
}

fn config(message: &str) -> Error {
    Error::Config {
        source_name: "loader options".into(),
        message: message.into(),
    }
}
