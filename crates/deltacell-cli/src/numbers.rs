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
}
