//! Arbitrary text as an augmentation file (DeLTA's keys) and as a dataset configuration: the
//! parsers must return a value or an error, never panic; an accepted value is in range.
#![no_main]

use deltacell_data::augment::AugmentParams;
use deltacell_data::dataset::DatasetConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(params) = AugmentParams::from_toml_str(text) {
        assert!(params.validate().is_ok(), "accepted an out-of-range value: {text:?}");
    }
    let _ = toml::from_str::<DatasetConfig>(text);
});
