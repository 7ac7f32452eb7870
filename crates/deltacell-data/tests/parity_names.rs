//! `names` against DeLTA 2.0.7's `getfnfromprototype` outputs (`filenames.json`).

use std::path::Path;

use deltacell_data::names::{FileOrder, FrameId, Prototype};

fn reference() -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/delta-2.0.7/filenames.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn every_filenames_json_case() {
    let cases = reference();
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let proto = case["prototype"].as_str().unwrap();
        let fileorder = case["fileorder"].as_str().unwrap();
        let args = &case["args"];
        let expected = case["result"].as_str().unwrap();
        let order = if fileorder.starts_with("pct") {
            FileOrder::Pct
        } else {
            FileOrder::Pt
        };
        let p = Prototype::from_printf(proto, order).unwrap();
        assert_eq!(p.to_printf(), proto);
        let id = FrameId {
            position: args["position"].as_u64().unwrap(),
            chamber: args["chamber"].as_u64().unwrap_or(0),
            frame: args["frame"].as_u64().unwrap(),
        };
        let got = match args.get("cellnb").and_then(|v| v.as_u64()) {
            Some(cell) => p.format_cell(&id, cell),
            None => p.format(&id),
        };
        assert_eq!(got, expected, "{case}");
        // Inferring from the produced name and parsing it back gives the same numbers; widths
        // from the name reproduce it exactly when the prototype pads.
        if !fileorder.ends_with('n') {
            let inferred = Prototype::infer(expected).unwrap();
            assert_eq!(inferred.order(), order);
            assert_eq!(inferred.parse(expected).unwrap(), id);
            assert_eq!(inferred.format(&id), expected);
        }
    }
}
