//! A corpus of damaged and unusual files, run through every command that reads images or
//! configurations: each must exit 0 with complete outputs or exit 1 with a message naming the
//! file; never a panic or an abort, never a temporary file left behind, never a partial file
//! under a final name.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use deltacell_data::{io, Image, Mask, Plane};

fn deltacell(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run deltacell")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Encodes a PNG of `w × h` with `colour` and `depth` from raw sample bytes.
fn png_bytes(
    w: u32,
    h: u32,
    colour: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    palette: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(colour);
        enc.set_depth(depth);
        if let Some(p) = palette {
            enc.set_palette(p.to_vec());
        }
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(data).unwrap();
    }
    out
}

/// A good 0/255 mask (64×16, one cell) as PNG bytes.
fn good_mask_png() -> Vec<u8> {
    let data: Vec<u8> = (0..64 * 16)
        .map(|i| {
            if (10..40).contains(&(i / 16)) && (3..12).contains(&(i % 16)) {
                255
            } else {
                0
            }
        })
        .collect();
    png_bytes(
        16,
        64,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        &data,
        None,
    )
}

/// One corpus entry: a name and the bytes of the image given as `img/b.*` and `seg/b.*`.
struct Case {
    name: &'static str,
    ext: &'static str,
    img: Vec<u8>,
    seg: Vec<u8>,
}

fn tiff_multipage_mixed() -> Vec<u8> {
    let mut cur = std::io::Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut cur).unwrap();
        let a: Vec<u8> = (0..64 * 16)
            .map(|i| if i % 5 == 0 { 255 } else { 0 })
            .collect();
        enc.write_image::<tiff::encoder::colortype::Gray8>(16, 64, &a)
            .unwrap();
        let b = vec![0u8; 8 * 8];
        enc.write_image::<tiff::encoder::colortype::Gray8>(8, 8, &b)
            .unwrap();
    }
    cur.into_inner()
}

fn tiff_float_nan() -> Vec<u8> {
    let mut cur = std::io::Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut cur).unwrap();
        let mut v = vec![0.5f32; 64 * 16];
        v[7] = f32::NAN;
        enc.write_image::<tiff::encoder::colortype::Gray32Float>(16, 64, &v)
            .unwrap();
    }
    cur.into_inner()
}

/// A PNG whose header claims 65535×65535 RGBA 16-bit (34 GB decoded) and has no pixel data.
fn png_header_bomb() -> Vec<u8> {
    let full = png_bytes(
        1,
        1,
        png::ColorType::Rgba,
        png::BitDepth::Sixteen,
        &[0; 8],
        None,
    );
    // Signature (8) + IHDR length/type (8) + width, height.
    let mut b = full[..33].to_vec();
    b[16..20].copy_from_slice(&65535u32.to_be_bytes());
    b[20..24].copy_from_slice(&65535u32.to_be_bytes());
    // Fix the IHDR CRC so that the header itself is valid.
    let crc = crc32(&b[12..29]);
    b[29..33].copy_from_slice(&crc.to_be_bytes());
    b
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &byte in bytes {
        c ^= u32::from(byte);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn corpus() -> Vec<Case> {
    let good = good_mask_png();
    let gray = |w: u32, h: u32| {
        let data: Vec<u8> = (0..w * h).map(|i| (i % 200) as u8).collect();
        png_bytes(
            w,
            h,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &data,
            None,
        )
    };
    let rgb: Vec<u8> = good_mask_bytes().iter().flat_map(|&v| [v, v, v]).collect();
    let rgba: Vec<u8> = good_mask_bytes()
        .iter()
        .flat_map(|&v| [v, v, v, 255])
        .collect();
    let ga16: Vec<u8> = good_mask_bytes()
        .iter()
        .flat_map(|&v| [v, v, 255, 255])
        .collect();
    let pal_idx: Vec<u8> = good_mask_bytes().iter().map(|&v| u8::from(v > 0)).collect();
    let bits1: Vec<u8> = good_mask_bytes()
        .chunks(8)
        .map(|c| c.iter().fold(0u8, |acc, &v| (acc << 1) | u8::from(v > 0)))
        .collect();
    vec![
        Case {
            name: "truncated",
            ext: "png",
            img: gray(16, 64)[..60].to_vec(),
            seg: good[..60].to_vec(),
        },
        Case {
            name: "zero bytes",
            ext: "png",
            img: Vec::new(),
            seg: Vec::new(),
        },
        Case {
            name: "text named .png",
            ext: "png",
            img: b"not an image\n".to_vec(),
            seg: b"not an image\n".to_vec(),
        },
        Case {
            name: "1x1",
            ext: "png",
            img: gray(1, 1),
            seg: png_bytes(
                1,
                1,
                png::ColorType::Grayscale,
                png::BitDepth::Eight,
                &[255],
                None,
            ),
        },
        Case {
            name: "65535x1",
            ext: "png",
            img: gray(65535, 1),
            seg: {
                let d: Vec<u8> = (0..65535)
                    .map(|i| if i % 40 < 20 { 255 } else { 0 })
                    .collect();
                png_bytes(
                    65535,
                    1,
                    png::ColorType::Grayscale,
                    png::BitDepth::Eight,
                    &d,
                    None,
                )
            },
        },
        Case {
            name: "1-bit",
            ext: "png",
            img: gray(16, 64),
            seg: png_bytes(
                16,
                64,
                png::ColorType::Grayscale,
                png::BitDepth::One,
                &bits1,
                None,
            ),
        },
        Case {
            name: "palette",
            ext: "png",
            img: gray(16, 64),
            seg: png_bytes(
                16,
                64,
                png::ColorType::Indexed,
                png::BitDepth::Eight,
                &pal_idx,
                Some(&[0, 0, 0, 255, 255, 255]),
            ),
        },
        Case {
            name: "rgb",
            ext: "png",
            img: png_bytes(
                16,
                64,
                png::ColorType::Rgb,
                png::BitDepth::Eight,
                &rgb,
                None,
            ),
            seg: png_bytes(
                16,
                64,
                png::ColorType::Rgb,
                png::BitDepth::Eight,
                &rgb,
                None,
            ),
        },
        Case {
            name: "rgba",
            ext: "png",
            img: png_bytes(
                16,
                64,
                png::ColorType::Rgba,
                png::BitDepth::Eight,
                &rgba,
                None,
            ),
            seg: png_bytes(
                16,
                64,
                png::ColorType::Rgba,
                png::BitDepth::Eight,
                &rgba,
                None,
            ),
        },
        Case {
            name: "gray+alpha 16-bit",
            ext: "png",
            img: png_bytes(
                16,
                64,
                png::ColorType::GrayscaleAlpha,
                png::BitDepth::Sixteen,
                &ga16,
                None,
            ),
            seg: good.clone(),
        },
        Case {
            name: "multi-page tiff, mixed sizes",
            ext: "tif",
            img: tiff_multipage_mixed(),
            seg: tiff_multipage_mixed(),
        },
        Case {
            name: "float tiff with NaN",
            ext: "tif",
            img: tiff_float_nan(),
            seg: good.clone(),
        },
        Case {
            name: "header claims 34 GB",
            ext: "png",
            img: png_header_bomb(),
            seg: png_header_bomb(),
        },
        Case {
            name: "size mismatch",
            ext: "png",
            img: gray(16, 60),
            seg: good.clone(),
        },
    ]
}

/// The 64×16 one-cell mask of [`good_mask_png`] as 0/255 bytes.
fn good_mask_bytes() -> Vec<u8> {
    (0..64 * 16)
        .map(|i| {
            if (10..40).contains(&(i / 16)) && (3..12).contains(&(i % 16)) {
                255
            } else {
                0
            }
        })
        .collect()
}

/// A set with a good sample `a` and the case's sample `b`.
fn set_with(root: &Path, case: &Case) {
    for sub in ["img", "seg"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    let img = Image::from_plane(Plane::from_fn(64, 16, |r, c| ((r + c) % 9) as f32 / 9.0));
    io::write_image(root.join("img/a.png"), &img, io::Depth::U16).unwrap();
    io::write_mask(
        root.join("seg/a.png"),
        &Mask::from_fn(64, 16, |r, c| (10..40).contains(&r) && (3..12).contains(&c)),
    )
    .unwrap();
    let name = format!("b.{}", case.ext);
    std::fs::File::create(root.join("img").join(&name))
        .unwrap()
        .write_all(&case.img)
        .unwrap();
    std::fs::File::create(root.join("seg").join(&name))
        .unwrap()
        .write_all(&case.seg)
        .unwrap();
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Exit 0 or 1, no panic, a named file on failure, no temporary file, every written image
/// complete.
fn judge(case: &str, args: &[&str], o: &Output, work: &Path, outputs: &[&Path]) {
    let code = o.status.code();
    let all = text(o);
    assert!(
        code == Some(0) || code == Some(1),
        "{case}: deltacell {args:?} exited {code:?}:\n{all}"
    );
    assert!(
        !all.contains("panicked"),
        "{case}: {args:?} panicked:\n{all}"
    );
    if code == Some(1) {
        assert!(
            all.contains("b.png") || all.contains("b.tif"),
            "{case}: deltacell {args:?} failed without naming the file:\n{all}"
        );
    }
    for f in all_files(work) {
        let name = f.to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "{case}: {args:?} left {name}");
    }
    for out in outputs {
        for f in all_files(out)
            .into_iter()
            .chain(out.is_file().then(|| out.to_path_buf()))
        {
            if io::is_image_path(&f) {
                io::read_raw(&f)
                    .unwrap_or_else(|e| panic!("{case}: {args:?} wrote a partial file: {e}"));
            }
        }
    }
}

#[test]
fn every_reading_command_handles_every_damaged_or_unusual_image() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // One tiny model for `predict`.
    let o = deltacell(
        &[
            "train",
            "seg",
            "--preset",
            "mothermachine",
            "--data",
            "builtin:synth",
            "--out",
            "model",
            "--filters",
            "4,8",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "1",
            "--batch-size",
            "1",
            "--val-steps",
            "1",
            "--quiet",
        ],
        d,
    );
    assert!(o.status.success(), "{}", text(&o));
    for (k, case) in corpus().iter().enumerate() {
        let work = d.join(format!("case{k}"));
        let set = work.join("set");
        set_with(&set, case);
        let commands: Vec<(Vec<&str>, Vec<PathBuf>)> = vec![
            (vec!["check", "set"], vec![]),
            (
                vec!["weights", "set", "--kind", "seg"],
                vec![set.join("wei")],
            ),
            (
                vec![
                    "augment",
                    "set",
                    "--config",
                    "seg",
                    "--n",
                    "2",
                    "--out",
                    "sheet.png",
                ],
                vec![work.join("sheet.png")],
            ),
            (
                vec![
                    "batches", "set", "--kind", "seg", "--n", "1", "--out", "b.png",
                ],
                vec![work.join("b.png")],
            ),
            (
                vec![
                    "predict", "seg", "--model", "../model", "--input", "set/img", "--out", "pred",
                    "-q",
                ],
                vec![work.join("pred")],
            ),
            (
                vec!["eval", "seg", "--pred", "set/seg", "--truth", "set/seg"],
                vec![],
            ),
            (
                vec![
                    "train",
                    "seg",
                    "--preset",
                    "mothermachine",
                    "--data",
                    "set",
                    "--out",
                    "run",
                    "--filters",
                    "4,8",
                    "--epochs",
                    "1",
                    "--steps-per-epoch",
                    "1",
                    "--batch-size",
                    "2",
                    "--val-steps",
                    "1",
                    "--quiet",
                ],
                vec![work.join("run")],
            ),
        ];
        for (args, outputs) in &commands {
            let o = deltacell(args, &work);
            let outs: Vec<&Path> = outputs.iter().map(PathBuf::as_path).collect();
            judge(case.name, args, &o, &work, &outs);
            if o.status.code() == Some(1) && args[0] == "train" {
                assert!(
                    !work.join("run").exists(),
                    "{}: refused train left run/",
                    case.name
                );
            }
        }
    }
}

#[test]
fn every_configuration_reader_names_a_bad_file_and_its_key() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let cases: [(&str, &str, &str); 5] = [
        ("not toml", "[models.seg\nzoom = ", "bad.toml"),
        ("unknown key", "[models.seg]\nepochz = 3\n", "epochz"),
        (
            "negative zoom",
            "[models.seg.augmentation]\nzoom = -1\n",
            "zoom",
        ),
        (
            "zero size",
            "[models.seg]\ntarget_size = [0, 0]\n",
            "target_size",
        ),
        ("wrong type", "[models.seg]\nepochs = \"x\"\n", "epochs"),
    ];
    for (what, body, needle) in cases {
        std::fs::write(d.join("bad.toml"), body).unwrap();
        for args in [
            vec![
                "config",
                "show",
                "--preset",
                "mothermachine",
                "--config",
                "bad.toml",
            ],
            vec![
                "train",
                "seg",
                "--preset",
                "mothermachine",
                "--config",
                "bad.toml",
                "--data",
                "builtin:synth",
                "--out",
                "run",
            ],
        ] {
            let o = deltacell(&args, d);
            assert_eq!(o.status.code(), Some(1), "{what}: {args:?}: {}", text(&o));
            assert!(text(&o).contains("bad.toml"), "{what}: {}", text(&o));
            assert!(text(&o).contains(needle), "{what}: {}", text(&o));
            assert!(!d.join("run").exists(), "{what}: refused start left run/");
        }
    }
    // Augmentation files (DeLTA's keys) for `augment`, and dataset files for `batches`.
    let set = d.join("set");
    set_with(&set, &corpus()[3]);
    for (body, needle) in [
        ("rotation = 2\nzom = 0.1\n", "zoom"),
        ("gaussian_noise = nan\n", "gaussian_noise"),
        ("rotation = [1\n", "aug.toml"),
    ] {
        std::fs::write(d.join("aug.toml"), body).unwrap();
        let o = deltacell(
            &["augment", "set", "--config", "aug.toml", "--out", "s.png"],
            d,
        );
        assert_eq!(o.status.code(), Some(1), "{body}: {}", text(&o));
        assert!(text(&o).contains(needle), "{body}: {}", text(&o));
        assert!(!d.join("s.png").exists());
    }
    for (body, needle) in [
        ("[models.seg]\ntarget_size = [0, 0]\n", "target_size"),
        ("[models.seg]\ncrops = true\n", "crops"),
    ] {
        std::fs::write(d.join("data.toml"), body).unwrap();
        let o = deltacell(
            &[
                "batches",
                "set",
                "--kind",
                "seg",
                "--config",
                "data.toml",
                "--out",
                "b.png",
            ],
            d,
        );
        assert_eq!(o.status.code(), Some(1), "{body}: {}", text(&o));
        assert!(text(&o).contains(needle), "{body}: {}", text(&o));
        assert!(!d.join("b.png").exists());
    }
}
