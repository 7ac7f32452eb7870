//! Value parsers for numeric options: every number is checked against its range when the
//! command line is read, and the message states the range (clap adds the option's name).
//! NaN and infinities are never accepted.

/// A finite number > 0.
pub fn positive_f32(text: &str) -> Result<f32, String> {
    let v = finite(text)?;
    if v > 0.0 {
        Ok(v as f32)
    } else {
        Err(format!("{v} is not > 0"))
    }
}

/// A finite number >= 0.
pub fn non_negative_f32(text: &str) -> Result<f32, String> {
    let v = finite(text)?;
    if v >= 0.0 {
        Ok(v as f32)
    } else {
        Err(format!("{v} is negative; expected a number >= 0"))
    }
}

/// A finite number > 0 (f64).
pub fn positive_f64(text: &str) -> Result<f64, String> {
    positive_f32(text).and_then(|_| finite(text))
}

/// A number strictly between 0 and 1.
pub fn open_unit(text: &str) -> Result<f64, String> {
    let v = finite(text)?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("{v} is outside (0, 1)"))
    }
}

/// A number in `[0, 1]`.
pub fn unit_interval(text: &str) -> Result<f32, String> {
    let v = finite(text)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v as f32)
    } else {
        Err(format!("{v} is outside [0, 1]"))
    }
}

/// An integer >= 1.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    let v: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number >= 1"))?;
    if v >= 1 {
        Ok(v)
    } else {
        Err("0 is not allowed; expected a whole number >= 1".into())
    }
}

/// Two finite numbers > 0, `A,B` (class weights: background, cell).
pub fn positive_pair(text: &str) -> Result<(f32, f32), String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [a, b] = parts.as_slice() else {
        return Err(format!("expected two numbers A,B, got {text:?}"));
    };
    Ok((positive_f32(a)?, positive_f32(b)?))
}

fn finite(text: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("{text} is not a finite number"))
    }
}

/// A list of position numbers, increasing, without repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionList(pub Vec<u32>);

/// `0-2,4,7-10` → `[0, 1, 2, 4, 7, 8, 9, 10]` (DeLTA's `to_int_list`).
pub fn parse_list(text: &str) -> Result<PositionList, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("{s:?} is not a whole number ≥ 0 (in {text:?})"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("{part:?}: the range runs backwards"));
                }
                out.extend(a..=b);
            }
            None => out.push(num(part)?),
        }
    }
    if out.is_empty() {
        return Err("an empty list".into());
    }
    out.sort_unstable();
    out.dedup();
    Ok(PositionList(out))
}

/// `-150`, `15-`, `15-30`, `40` → inclusive bounds (DeLTA's `to_interval`).
pub fn parse_range(text: &str) -> Result<(Option<u32>, Option<u32>), String> {
    let num = |s: &str| -> Result<Option<u32>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<u32>()
            .map(Some)
            .map_err(|_| format!("{s:?} is not a frame number (in {text:?})"))
    };
    let (lo, hi) = match text.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let v = num(text)?;
            (v, v)
        }
    };
    if let (Some(a), Some(b)) = (lo, hi) {
        if a > b {
            return Err(format!("{text:?}: the range runs backwards"));
        }
    }
    if lo.is_none() && hi.is_none() {
        return Err("an empty range".into());
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_and_out_of_range_numbers_are_refused() {
        for bad in ["nan", "NaN", "inf", "-inf", "-1", "0", "x", ""] {
            assert!(positive_f32(bad).is_err(), "{bad}");
        }
        assert_eq!(positive_f32("2.5"), Ok(2.5));
        assert!(non_negative_f32("0").is_ok() && non_negative_f32("-0.1").is_err());
        assert!(open_unit("0").is_err() && open_unit("1").is_err() && open_unit("0.5").is_ok());
        assert!(unit_interval("1").is_ok() && unit_interval("1.01").is_err());
        assert!(at_least_one("0").is_err() && at_least_one("-3").is_err());
        assert_eq!(at_least_one("3"), Ok(3));
        assert_eq!(positive_pair("1, 2"), Ok((1.0, 2.0)));
        for bad in ["nan,1", "1,-1", "1", "1,2,3", "inf,1"] {
            assert!(positive_pair(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_and_ranges_parse_as_delta_3s() {
        assert_eq!(parse_list("0-2,4,7-8").unwrap().0, vec![0, 1, 2, 4, 7, 8]);
        assert_eq!(parse_list("3,3").unwrap().0, vec![3]);
        assert!(parse_list("2-1").is_err());
        assert!(parse_list("a").is_err());
        assert_eq!(parse_range("-150").unwrap(), (None, Some(150)));
        assert_eq!(parse_range("15-").unwrap(), (Some(15), None));
        assert_eq!(parse_range("15-30").unwrap(), (Some(15), Some(30)));
        assert_eq!(parse_range("40").unwrap(), (Some(40), Some(40)));
        assert!(parse_range("30-15").is_err());
        assert!(parse_range("-").is_err());
    }
}
