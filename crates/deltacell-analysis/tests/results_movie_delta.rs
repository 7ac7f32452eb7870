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

use std::path::{Path, PathBuf};

use deltacell_analysis::contour::first_contour;
use deltacell_analysis::movie::Movie;
use deltacell_analysis::results::PositionResults;
use deltacell_analysis::results_movie::{
    cell_colour, movie_frames, write_movie, MovieFormat, MovieOptions,
};

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join("../shared")
        .join(rel)
}

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
