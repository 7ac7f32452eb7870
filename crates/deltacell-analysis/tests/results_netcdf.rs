//! DeLTA 3's own results files (`../shared/data/delta-3.0.0a6/*/expected_results/Position000001.nc`)
//! read, written back and compared: in Rust (every value), and with xarray and netCDF4 (every
//! variable, attribute, dtype and compression setting) when a Python with both can be found
//! (`DELTACELL_XARRAY_PYTHON`, else `python3`).

mod common;
use common::shared;

use std::path::PathBuf;
use std::process::Command;

use deltacell_analysis::results::{CellFeatures, PositionResults};

const MM: &str = "data/delta-3.0.0a6/movie_mothermachine_tif/expected_results/Position000001.nc";
const TWO_D: &str = "data/delta-3.0.0a6/movie_2D_tif/expected_results/Position000001.nc";

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn same_features(a: &CellFeatures, b: &CellFeatures) -> bool {
    a.new_pole == b.new_pole
        && a.old_pole == b.old_pole
        && a.edges == b.edges
        && same(a.length, b.length)
        && same(a.width, b.width)
        && same(a.area, b.area)
        && same(a.perimeter, b.perimeter)
        && same(a.growthrate_length, b.growthrate_length)
        && same(a.growthrate_area, b.growthrate_area)
        && a.fluo.len() == b.fluo.len()
        && a.fluo.iter().zip(&b.fluo).all(|(x, y)| same(*x, *y))
}

fn assert_same(a: &PositionResults, b: &PositionResults) {
    assert_eq!(a.position_nb, b.position_nb);
    assert_eq!(a.rotate.to_bits(), b.rotate.to_bits());
    assert_eq!(a.shape, b.shape);
    assert_eq!(a.config, b.config);
    assert_eq!(a.drift, b.drift);
    assert_eq!(a.version, b.version);
    assert_eq!(a.rois.len(), b.rois.len());
    for (x, y) in a.rois.iter().zip(&b.rois) {
        assert_eq!(x.roi_nb, y.roi_nb);
        assert_eq!(x.bbox, y.bbox);
        assert_eq!(x.scaling, y.scaling);
        assert_eq!(x.config, y.config);
        assert_eq!(x.model_hashes, y.model_hashes);
        assert_eq!(x.first_frame, y.first_frame);
        let bits = |s: &[f32]| s.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(x.img.as_slice()), bits(y.img.as_slice()));
        assert_eq!(x.fluo_channels, y.fluo_channels);
        assert_eq!(bits(x.fluo.as_slice()), bits(y.fluo.as_slice()));
        assert_eq!(x.seg, y.seg);
        assert_eq!(x.labels, y.labels);
        assert_eq!(x.lineage, y.lineage);
        assert_eq!(x.features.len(), y.features.len());
        for (id, fx) in &x.features {
            let fy = &y.features[id];
            assert_eq!(fx.len(), fy.len());
            for (p, q) in fx.iter().zip(fy) {
                assert!(
                    same_features(p, q),
                    "roi {} cell {id}: {p:?} vs {q:?}",
                    x.roi_nb
                );
            }
        }
    }
}

/// A Python with xarray and netCDF4, or why there is none.
fn python() -> Result<PathBuf, String> {
    let candidates: Vec<PathBuf> = std::env::var_os("DELTACELL_XARRAY_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("python3")])
        .collect();
    for p in &candidates {
        let ok = Command::new(p)
            .args(["-c", "import xarray, netCDF4"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Ok(p.clone());
        }
    }
    Err(format!(
        "no Python with xarray and netCDF4 among {candidates:?} (set DELTACELL_XARRAY_PYTHON)"
    ))
}

const CHECK: &str = r#"
import sys, numpy as np, netCDF4, xarray as xr
a, b = sys.argv[1], sys.argv[2]
na, nb = netCDF4.Dataset(a), netCDF4.Dataset(b)
assert na.data_model == nb.data_model == "NETCDF4", (na.data_model, nb.data_model)
assert na.ncattrs() and set(na.ncattrs()) == set(nb.ncattrs()), (na.ncattrs(), nb.ncattrs())
for k in na.ncattrs():
    x, y = na.getncattr(k), nb.getncattr(k)
    assert type(x) == type(y) and np.asarray(x).dtype == np.asarray(y).dtype, (k, x, y)
    assert np.array_equal(np.asarray(x), np.asarray(y)), (k, x, y)
assert list(na.groups) == list(nb.groups), (list(na.groups), list(nb.groups))
nvars = 0
for g in na.groups:
    ga, gb = na[g], nb[g]
    assert set(ga.ncattrs()) == set(gb.ncattrs()), (g, ga.ncattrs(), gb.ncattrs())
    for k in ga.ncattrs():
        x, y = ga.getncattr(k), gb.getncattr(k)
        assert type(x) == type(y) and np.array_equal(np.asarray(x), np.asarray(y)), (g, k, x, y)
    da = {k: (len(d), d.isunlimited()) for k, d in ga.dimensions.items()}
    db = {k: (len(d), d.isunlimited()) for k, d in gb.dimensions.items()}
    assert da == db, (g, da, db)
    assert list(ga.variables) == list(gb.variables), (g, list(ga.variables), list(gb.variables))
    for v in ga.variables:
        va, vb = ga[v], gb[v]
        assert va.dtype == vb.dtype and va.dimensions == vb.dimensions, (g, v, va.dtype, vb.dtype)
        assert {k: str(va.getncattr(k)) for k in va.ncattrs()} == {k: str(vb.getncattr(k)) for k in vb.ncattrs()}, (g, v)
        fa, fb = va.filters(), vb.filters()
        assert (fa["zlib"], fa["shuffle"], fa["complevel"]) == (fb["zlib"], fb["shuffle"], fb["complevel"]), (g, v, fa, fb)
        # Stacks are written frame by frame, in chunks of one frame (DeLTA: one chunk per stack).
        ca, cb = va.chunking(), vb.chunking()
        per_frame = va.dimensions[:1] == ("frame",) and isinstance(ca, list) and cb == [1] + ca[1:]
        assert ca == cb or per_frame, (g, v, ca, cb)
groups = list(na.groups)
na.close()
nb.close()
# HDF5 refuses a second handle on a file that netCDF4 still holds: xarray opens them afresh.
for g in groups:
    with xr.open_dataset(a, group=g) as xa, xr.open_dataset(b, group=g) as xb:
        xr.testing.assert_identical(xa, xb)
        for v in xa.variables:
            assert xa[v].dtype == xb[v].dtype, (g, v, xa[v].dtype, xb[v].dtype)
            nvars += 1
print(f"xarray: {len(groups)} groups, {nvars} variables identical")
"#;

/// One round trip at a time: two threads writing and reading results files at once in one
/// process fail now and then with "NetCDF: HDF error" (the HDF5 library under netCDF, with or
/// without its chunk cache; deltacell itself analyses one position at a time).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn round_trip(rel: &str) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let src = shared(rel);
    let original = PositionResults::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("Position000001.nc");
    original.write(&out).unwrap();
    let back = PositionResults::read(&out).unwrap();
    assert_same(&original, &back);

    match python() {
        Ok(py) => {
            let o = Command::new(py)
                .args(["-c", CHECK])
                .arg(&src)
                .arg(&out)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "xarray check failed:\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            println!("{rel}: {}", String::from_utf8_lossy(&o.stdout).trim());
        }
        Err(why) => println!("skipped the xarray comparison of {rel}: {why}"),
    }
}

#[test]
fn mother_machine_results_round_trip() {
    let r = PositionResults::read(shared(MM)).unwrap();
    assert_eq!(r.rois.len(), 18);
    assert_eq!(r.drift.len(), 10);
    assert_eq!(r.drift[2], (2, -4));
    assert!((r.rotate + 0.5).abs() < 1e-9);
    let roi = &r.rois[0];
    assert_eq!(roi.bbox.shape(), (210, 24));
    assert_eq!(roi.seg.plane_shape(), (256, 32));
    assert_eq!(roi.lineage.len(), 9);
    assert_eq!(roi.lineage.cell(8).unwrap().mother, Some(1));
    // DeLTA's frame 6 is index 5.
    assert_eq!(roi.lineage.cell(1).unwrap().divisions, vec![(5, 8)]);
    round_trip(MM);
}

#[test]
fn two_d_results_round_trip() {
    let r = PositionResults::read(shared(TWO_D)).unwrap();
    assert_eq!(r.rois.len(), 1);
    assert!(r.drift.is_empty());
    assert!(r.rois[0].fluo_channels.is_empty());
    round_trip(TWO_D);
}

#[test]
fn a_file_that_is_not_netcdf_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Position000001.nc");
    std::fs::write(&p, b"not a netCDF file").unwrap();
    let err = PositionResults::read(&p).unwrap_err().to_string();
    assert!(err.contains("Position000001.nc"), "{err}");
}

#[test]
fn a_netcdf_file_without_delta_variables_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("other.nc");
    let mut f = netcdf::create(&p).unwrap();
    f.add_attribute("position_nb", 1i64).unwrap();
    f.add_attribute("rotate", 0.0f64).unwrap();
    f.add_attribute("shape", vec![4i64, 4]).unwrap();
    f.add_attribute("config", "{}").unwrap();
    f.add_attribute("drift_x", Vec::<f64>::new()).unwrap();
    f.add_attribute("drift_y", Vec::<f64>::new()).unwrap();
    f.add_group("roi00").unwrap();
    f.close().unwrap();
    let err = PositionResults::read(&p).unwrap_err().to_string();
    assert!(err.contains("other.nc") && err.contains("roi00"), "{err}");
}
