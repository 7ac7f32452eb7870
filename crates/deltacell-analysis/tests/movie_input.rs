//! Movie inputs: DeLTA 3's shared mother-machine movie through its template, and the bad
//! inputs the pipeline must refuse with an error that names the file.

use std::path::{Path, PathBuf};

use deltacell_analysis::movie::Movie;
use deltacell_analysis::Error;
use deltacell_data::io::write_tiff_u16;
use deltacell_data::Plane;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join("../shared")
        .join(rel)
}

#[test]
fn the_shared_mother_machine_movie_opens_through_deltas_template() {
    let movie = Movie::open(&shared(
        "data/delta-3.0.0a6/movie_mothermachine_tif/Position{p}Channel{c}Frames{t}.tif",
    ))
    .unwrap();
    assert_eq!(movie.positions, vec![1, 2]);
    assert_eq!(movie.channels, vec![1, 2]);
    assert_eq!(movie.frames, (1..=10).collect::<Vec<_>>());
    let f = movie.frame(1, 2, 10, Some((520, 696))).unwrap();
    assert_eq!(f.shape(), (520, 696));
    assert!(f.as_slice().iter().all(|v| (0.0..=1.0).contains(v)));
}

fn frame(dir: &Path, name: &str, h: usize, w: usize) {
    write_tiff_u16(dir.join(name), &[Plane::filled(h, w, 1000u16)]).unwrap();
}

#[test]
fn bad_movies_are_refused_naming_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Nothing matches.
    let err = Movie::open(&d.join("pos{p}_t{t}.tif")).unwrap_err();
    assert!(matches!(err, Error::Movie { .. }), "{err}");
    assert!(err.to_string().contains("matches the template"), "{err}");

    // A missing channel at one frame.
    frame(d, "p1_c1_t1.tif", 4, 6);
    frame(d, "p1_c1_t2.tif", 4, 6);
    frame(d, "p1_c2_t1.tif", 4, 6);
    let err = Movie::open(&d.join("p{p}_c{c}_t{t}.tif")).unwrap_err();
    assert!(
        err.to_string().contains("channel 2, frame 2 is missing"),
        "{err}"
    );

    // Frames of different sizes.
    frame(d, "p1_c2_t2.tif", 5, 6);
    let movie = Movie::open(&d.join("p{p}_c{c}_t{t}.tif")).unwrap();
    let shape = movie.frame(1, 1, 1, None).unwrap().shape();
    let err = movie.frame(1, 2, 2, Some(shape)).unwrap_err();
    assert!(matches!(err, Error::FrameSize { .. }), "{err}");
    assert!(err.to_string().contains("p1_c2_t2.tif"), "{err}");

    // An unreadable frame.
    std::fs::write(d.join("p1_c2_t2.tif"), b"not a tiff").unwrap();
    let err = movie.frame(1, 2, 2, Some(shape)).unwrap_err();
    assert!(err.to_string().contains("p1_c2_t2.tif"), "{err}");
}

#[test]
fn a_folder_of_frames_and_a_multi_page_tiff() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    for i in 0..3 {
        frame(&frames, &format!("img_{i:03}.tif"), 4, 6);
    }
    let movie = Movie::open(&frames).unwrap();
    assert_eq!(movie.frames, vec![0, 1, 2]);
    let stack = dir.path().join("stack.tif");
    write_tiff_u16(&stack, &vec![Plane::filled(3, 2, 65535u16); 5]).unwrap();
    let movie = Movie::open(&stack).unwrap();
    assert_eq!(movie.frames.len(), 5);
    assert_eq!(movie.frame(0, 0, 4, None).unwrap().as_slice(), &[1.0; 6]);
}
