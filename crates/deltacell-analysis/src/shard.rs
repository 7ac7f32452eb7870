//! Splitting a run's positions between processes: shard `I` of `N` (`deltacell run --shard I/N`,
//! or a Slurm array task) takes the positions, sorted by number, whose index is `I` modulo `N`
//! (round robin: neighbouring positions, often of similar sizes, go to different shards).
//!
//! The assignment depends only on the position list and `N`, so every shard of an array agrees
//! on it without talking to the others, the shards together take every position exactly once,
//! and a re-submitted array gives each task the same positions. Every file a position writes is
//! named by the position ([`crate::outputs`], [`crate::fingerprint`]), so two shards never write
//! the same file; the experiment-wide files are written by `deltacell merge` alone
//! ([`crate::merge`]).

use crate::error::{Error, Result};

/// Shard `index` of `count` (0 ≤ `index` < `count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: usize,
    /// The number of shards, ≥ 1.
    pub count: usize,
}

impl Shard {
    /// The whole run in one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// A checked shard.
    ///
    /// ```
    /// use deltacell_analysis::shard::Shard;
    /// assert!(Shard::new(1, 2).is_ok());
    /// assert!(Shard::new(2, 2).is_err());
    /// assert!(Shard::new(0, 0).is_err());
    /// ```
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        let given = format!("{index}/{count}");
        if count == 0 {
            return Err(Error::Shard {
                given,
                problem: "the number of shards must be at least 1".into(),
            });
        }
        if index >= count {
            return Err(Error::Shard {
                given,
                problem: format!("the shard index must be from 0 to {}", count - 1),
            });
        }
        Ok(Shard { index, count })
    }

    /// Parses `I/N`.
    ///
    /// ```
    /// use deltacell_analysis::shard::Shard;
    /// assert_eq!(Shard::parse("3/8").unwrap(), Shard { index: 3, count: 8 });
    /// assert!(Shard::parse("8/8").is_err());
    /// assert!(Shard::parse("3").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = |problem: &str| Error::Shard {
            given: text.to_string(),
            problem: problem.to_string(),
        };
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| bad("expected I/N, e.g. 0/8 (shard I of N, I from 0 to N-1)"))?;
        let i: usize = i
            .trim()
            .parse()
            .map_err(|_| bad("I is not a whole number ≥ 0"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number ≥ 1"))?;
        Shard::new(i, n)
    }

    /// The shard of a Slurm array task, from its environment (`var` looks a variable up):
    /// `None` outside an array (no `SLURM_ARRAY_TASK_ID`). The index is
    /// `(SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP` (minimum 0 and
    /// step 1 when unset) and the count `SLURM_ARRAY_TASK_COUNT`, so `--array=0-7`,
    /// `--array=1-8` and `--array=0-14:2` all give shards 0 to 7 of 8. A variable that is not a
    /// number, or an index outside the count, is an error naming it.
    ///
    /// ```
    /// use deltacell_analysis::shard::Shard;
    /// let env = |k: &str| match k {
    ///     "SLURM_ARRAY_TASK_ID" => Some("5".to_string()),
    ///     "SLURM_ARRAY_TASK_MIN" => Some("1".to_string()),
    ///     "SLURM_ARRAY_TASK_COUNT" => Some("8".to_string()),
    ///     _ => None,
    /// };
    /// assert_eq!(Shard::from_slurm(env).unwrap(), Some(Shard { index: 4, count: 8 }));
    /// assert_eq!(Shard::from_slurm(|_| None).unwrap(), None);
    /// ```
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
        let Some(id) = var("SLURM_ARRAY_TASK_ID") else {
            return Ok(None);
        };
        let number = |name: &str, text: &str| -> Result<usize> {
            text.trim().parse().map_err(|_| Error::Shard {
                given: format!("{name}={text}"),
                problem: "not a whole number ≥ 0".into(),
            })
        };
        let id = number("SLURM_ARRAY_TASK_ID", &id)?;
        let count = match var("SLURM_ARRAY_TASK_COUNT") {
            Some(c) => number("SLURM_ARRAY_TASK_COUNT", &c)?,
            None => {
                return Err(Error::Shard {
                    given: format!("SLURM_ARRAY_TASK_ID={id}"),
                    problem: "SLURM_ARRAY_TASK_COUNT is not set; give --shard I/N".into(),
                })
            }
        };
        let min = match var("SLURM_ARRAY_TASK_MIN") {
            Some(m) => number("SLURM_ARRAY_TASK_MIN", &m)?,
            None => 0,
        };
        let step = match var("SLURM_ARRAY_TASK_STEP") {
            Some(s) => number("SLURM_ARRAY_TASK_STEP", &s)?.max(1),
            None => 1,
        };
        let given =
            format!("SLURM_ARRAY_TASK_ID={id} (array from {min}, step {step}, {count} tasks)");
        let index = id.checked_sub(min).ok_or_else(|| Error::Shard {
            given: given.clone(),
            problem: "the task id is below SLURM_ARRAY_TASK_MIN".into(),
        })? / step;
        Shard::new(index, count).map(Some).map_err(|e| match e {
            Error::Shard { problem, .. } => Error::Shard {
                given,
                problem: format!(
                    "{problem}; an array with gaps (e.g. one task re-submitted alone) needs \
                         --shard I/N"
                ),
            },
            other => other,
        })
    }

    /// This shard's positions of `positions`: sorted, those at an index ≡ `index` (mod
    /// `count`). Empty when there are fewer positions than shards.
    ///
    /// ```
    /// use deltacell_analysis::shard::Shard;
    /// let s = Shard { index: 1, count: 3 };
    /// assert_eq!(s.positions(&[7, 1, 2, 3, 4, 5]), vec![2, 5]);
    /// assert!(Shard { index: 4, count: 5 }.positions(&[1, 2]).is_empty());
    /// ```
    pub fn positions(&self, positions: &[u32]) -> Vec<u32> {
        let mut sorted = positions.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        sorted
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % self.count == self.index)
            .map(|(_, p)| p)
            .collect()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_and_cover_every_position() {
        let positions: Vec<u32> = (0..37).map(|i| i * 3 + 1).rev().collect();
        for count in 1..=12 {
            let mut all = Vec::new();
            for index in 0..count {
                let mine = Shard::new(index, count).unwrap().positions(&positions);
                // Balanced: sizes differ by at most one.
                assert!(mine.len() == 37 / count || mine.len() == 37 / count + 1);
                all.extend(mine);
            }
            all.sort_unstable();
            let mut expected = positions.clone();
            expected.sort_unstable();
            assert_eq!(all, expected, "{count} shards");
        }
    }

    #[test]
    fn bad_shards_and_slurm_variables_are_named() {
        for bad in ["1/0", "2/2", "a/2", "1/b", "", "1-2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let env = |id: &'static str, count: Option<&'static str>| {
            move |k: &str| match k {
                "SLURM_ARRAY_TASK_ID" => Some(id.to_string()),
                "SLURM_ARRAY_TASK_COUNT" => count.map(str::to_string),
                _ => None,
            }
        };
        let err = Shard::from_slurm(env("x", Some("4"))).unwrap_err();
        assert!(err.to_string().contains("SLURM_ARRAY_TASK_ID=x"), "{err}");
        let err = Shard::from_slurm(env("1", None)).unwrap_err();
        assert!(err.to_string().contains("SLURM_ARRAY_TASK_COUNT"), "{err}");
        let err = Shard::from_slurm(env("5", Some("4"))).unwrap_err();
        assert!(err.to_string().contains("--shard"), "{err}");
        assert_eq!(
            Shard::from_slurm(env("3", Some("4"))).unwrap(),
            Some(Shard { index: 3, count: 4 })
        );
        let stepped = |k: &str| match k {
            "SLURM_ARRAY_TASK_ID" => Some("14".to_string()),
            "SLURM_ARRAY_TASK_COUNT" => Some("8".to_string()),
            "SLURM_ARRAY_TASK_STEP" => Some("2".to_string()),
            _ => None,
        };
        assert_eq!(
            Shard::from_slurm(stepped).unwrap(),
            Some(Shard { index: 7, count: 8 })
        );
    }
}
