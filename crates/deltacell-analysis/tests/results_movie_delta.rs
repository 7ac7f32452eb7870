//! The results movie of DeLTA 3's shared mother-machine results
//! (`../shared/data/delta-3.0.0a6/movie_mothermachine_tif/expected_results/Position000001.nc`)
//! drawn over the movie's own phase-contrast frames.
//!
//! DeLTA draws over the rotated and drift-corrected frames; this test uses the frames as they
//! are in the movie (rotation −0.5°, drift of up to a few pixels uncorrected), so the contours
//! sit a few pixels off the cells. What it checks does not depend on that: the number and size
//! of the frames, the cells' colours on their contours, the arrows at the divisions, the file
//! written (MP4 with ffmpeg, else APNG). Set `DELTACELL_MOVIE_PREVIEW` to a folder to get a
//! frame there as a PNG to look at.

mod common;
use common::shared;

use std::path::Path;

use deltacell_analysis::contour::first_contour;
use deltacell_analysis::movie::Movie;
use deltacell_analysis::results::PositionResults;
use deltacell_analysis::results_movie::{
    cell_colour, movie_frames, write_movie, MovieFormat, MovieOptions,
};

const DIR: &str = "data/delta-3.0.0a6/movie_mothermachine_tif";

#[test]
fn deltas_mother_machine_results_make_a_ten_frame_movie() {
    let position =
        PositionResults::read(shared(&format!("{DIR}/expected_results/Position000001.nc")))
            .unwrap();
    let movie = Movie::open(&shared(&format!(
        "{DIR}/Position{{p}}Channel{{c}}Frames{{t}}.tif"
    )))
    .unwrap();
    let phase = movie.channels[0];
    let frames: Vec<_> = movie
        .frames
        .iter()
        .map(|&t| {
            movie
                .frame(position.position_nb, phase, t, Some(position.shape))
                .unwrap()
        })
        .collect();
    assert_eq!(frames.len(), 10);
    let options = MovieOptions {
        cell_ids: true,
        fps: 7,
    };
    let pictures = movie_frames(&frames, &position, &options).unwrap();
    assert_eq!(pictures.len(), 10);

    // Every cell's contour carries its colour, except where a pole (white), an arrow or an id
    // is drawn over it.
    let mut divisions = 0;
    for (index, picture) in pictures.iter().enumerate() {
        let (mut coloured, mut total) = (0usize, 0usize);
        for roi in &position.rois {
            let (h, w) = roi.labels.plane_shape();
            let labels = roi.labels.frame(index);
            for cell in roi.lineage.cells() {
                if cell.first_frame > index || cell.last_frame < index {
                    continue;
                }
                divisions += cell.divisions.iter().filter(|d| d.0 == index).count();
                let mask: Vec<u8> = labels
                    .iter()
                    .map(|&l| u8::from(l as u32 == cell.id))
                    .collect();
                let Some(contour) = first_contour(&mask, h, w) else {
                    continue;
                };
                let colour = cell_colour(roi.roi_nb, cell.id);
                for [x, y] in contour {
                    let (r, c) = (y as i64 + roi.bbox.ytl, x as i64 + roi.bbox.xtl);
                    if r < 0
                        || c < 0
                        || r as usize >= picture.height()
                        || c as usize >= picture.width()
                    {
                        continue;
                    }
                    total += 1;
                    let px = picture.get(r as usize, c as usize);
                    if px == colour || px == [255, 255, 255] {
                        coloured += 1;
                    }
                }
            }
        }
        assert!(total > 0, "frame {index}: no cell");
        assert!(
            coloured * 100 >= total * 95,
            "frame {index}: {coloured} of {total} contour pixels in the cell's colour or white"
        );
    }
    assert!(divisions > 0, "the shared results have divisions");

    let dir = tempfile::tempdir().unwrap();
    pictures[5]
        .save(dir.path().join("frame_000006.png"))
        .unwrap();
    if let Some(preview) = std::env::var_os("DELTACELL_MOVIE_PREVIEW") {
        for i in [0, 5] {
            pictures[i]
                .save(Path::new(&preview).join(format!("frame_{:06}.png", i + 1)))
                .unwrap();
        }
    }
    let (path, format) = write_movie(&dir.path().join("Position000001"), &pictures, 7).unwrap();
    assert!(path.is_file());
    let (h, w) = (position.shape.0 & !1, position.shape.1 & !1);
    assert_eq!((h, w), (520, 696));
    match format {
        MovieFormat::Apng => {
            println!("no ffmpeg on PATH: animated PNG written");
            let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
            let reader = png::Decoder::new(file).read_info().unwrap();
            let info = reader.info();
            assert_eq!((info.height as usize, info.width as usize), (h, w));
            assert_eq!(info.animation_control.unwrap().num_frames, 10);
        }
        MovieFormat::Mp4 => {
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(&bytes[4..8], b"ftyp");
            let probe = Path::new("ffprobe");
            let out = std::process::Command::new(probe)
                .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
                .args(["-show_entries", "stream=nb_read_frames,width,height"])
                .args(["-of", "csv=p=0"])
                .arg(&path)
                .output();
            match out {
                Ok(out) if out.status.success() => {
                    let text = String::from_utf8_lossy(&out.stdout);
                    assert_eq!(text.trim(), format!("{w},{h},10"));
                }
                _ => println!("no ffprobe: the MP4's frames are not counted"),
            }
        }
    }
}

/// DeLTA 3.0.0a6's own results movie of the shared results (`Position.results_movie`, run in
/// its venv, `DELTACELL_DELTA3_PYTHON`; skipped without it), against ours drawn over the same
/// corrected frames (DeLTA's rotation and drift correction, exported by the script): the grey
/// picture is equal, and every pixel above the frame number is drawn (contour, pole, arrow) or
/// not, white or coloured, exactly as DeLTA's. The colours themselves differ by design (DeLTA's
/// are random per ROI), so within each ROI each of DeLTA's colours must map to one of ours.
///
/// DeLTA 3.0.0a6's movie does not run as released with OpenCV ≥ 5 (`putText` on a float
/// image, `applyColorMap` of a 1-D array): the script wraps those two calls so that they do
/// what they did with OpenCV 4.
#[test]
fn the_movie_draws_the_pixels_deltas_draws() {
    let Some(py) = common::delta3_python() else {
        return;
    };
    const SCRIPT: &str = r#"
import sys, warnings
warnings.filterwarnings("ignore")
from pathlib import Path
import numpy as np, xarray as xr, cv2
from delta.pipeline import Position
from delta.utils import XPReader
from delta import imgops
results, template, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
_put_text = cv2.putText
def put_text(img, text, org, fontFace, fontScale, color, thickness=1, **kw):
    if img.dtype == np.uint8:
        return _put_text(img, text, org, fontFace, fontScale, color, thickness, **kw)
    mask = np.zeros(img.shape[:2], np.uint8)
    _put_text(mask, text, org, fontFace, fontScale, 255, thickness)
    img[mask > 0] = color[:3]
    return img
cv2.putText = put_text
_apply = cv2.applyColorMap
cv2.applyColorMap = lambda src, cm: _apply(np.asarray(src).reshape(-1, 1), cm).reshape(-1, 1, 3)
pos = Position.load_netcdf(results)
reader = XPReader(template)
movie = np.stack(pos.results_movie(reader))
ti = reader.images(position=pos.position_nb, channels=reader.channels[0], frames=None, rotate=pos.rotate).isel(channel=0)
if pos.config.correct_drift:
    ti = imgops.correct_drift(ti, xr.DataArray(pos.drift_values, coords={"frame": ti.frame}, dims=("frame", "xy")))
np.ascontiguousarray(ti.to_numpy(), dtype="<f4").tofile(out / "frames.f32")
np.ascontiguousarray(movie, dtype=np.uint8).tofile(out / "movie.rgb")
print(*movie.shape)
"#;
    let dir = tempfile::tempdir().unwrap();
    let results = shared(&format!("{DIR}/expected_results/Position000001.nc"));
    let template = shared(&format!("{DIR}/Position{{p}}Channel{{c}}Frames{{t}}.tif"));
    let stdout = common::run_python(
        &py,
        SCRIPT,
        &[
            results.as_os_str(),
            template.as_os_str(),
            dir.path().as_os_str(),
        ],
    );
    let shape: Vec<usize> = stdout
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let position =
        PositionResults::read(shared(&format!("{DIR}/expected_results/Position000001.nc")))
            .unwrap();
    let (n, h, w) = (10, position.shape.0, position.shape.1);
    assert_eq!(shape, vec![n, h, w, 3]);
    let raw = std::fs::read(dir.path().join("frames.f32")).unwrap();
    let values: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(values.len(), n * h * w);
    let frames: Vec<_> = values
        .chunks_exact(h * w)
        .map(|f| deltacell_data::Plane::from_vec(h, w, f.to_vec()).unwrap())
        .collect();
    let theirs = std::fs::read(dir.path().join("movie.rgb")).unwrap();
    let ours = movie_frames(&frames, &position, &MovieOptions::default()).unwrap();

    // Rows above the frame number (its text starts some 25 rows above 0.97 × height).
    let text_top = (0.97 * h as f64) as usize - 25;
    assert!(position
        .rois
        .iter()
        .all(|r| (r.bbox.ybr as usize) < text_top));
    let kind = |p: [u8; 3]| match p {
        [255, 255, 255] => 2,
        [r, g, b] if r == g && g == b => 0,
        _ => 1,
    };
    let mut drawn = 0usize;
    for (i, picture) in ours.iter().enumerate() {
        let mut maps: Vec<std::collections::HashMap<[u8; 3], [u8; 3]>> =
            vec![Default::default(); position.rois.len()];
        for r in 0..text_top {
            for c in 0..w {
                let k = ((i * h + r) * w + c) * 3;
                let d = [theirs[k], theirs[k + 1], theirs[k + 2]];
                let o = picture.get(r, c);
                assert_eq!(
                    kind(d),
                    kind(o),
                    "frame {i}, row {r}, column {c}: {d:?} vs {o:?}"
                );
                match kind(d) {
                    0 => assert_eq!(d, o, "frame {i}, row {r}, column {c}: grey"),
                    1 => {
                        drawn += 1;
                        let roi = position
                            .rois
                            .iter()
                            .position(|b| {
                                (b.bbox.ytl..b.bbox.ybr).contains(&(r as i64))
                                    && (b.bbox.xtl..b.bbox.xbr).contains(&(c as i64))
                            })
                            .unwrap();
                        let mapped = *maps[roi].entry(d).or_insert(o);
                        assert_eq!(mapped, o, "frame {i}, row {r}, column {c}: colours");
                    }
                    _ => drawn += 1,
                }
            }
        }
    }
    println!("{drawn} drawn pixels equal to DeLTA 3's");
    assert!(drawn > 10_000);
}
