"""deltacell.pipeline: DeLTA's analysis of a movie from Python, the library's `Run` (what
``deltacell run`` does per position), with its checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from deltacell import pipeline



@pytest.fixture(scope="module")
def setup(tmp_path_factory, mm_experiment):
    """A synthetic mother-machine movie (one chamber per position) and tiny trained models."""
    root = tmp_path_factory.mktemp("pipeline")
    config, template = mm_experiment(root, 2)
    assert template.parent.is_dir()
    return root, config, template


def test_movie_layout_lists_positions_and_frames(setup):
    _, _, template = setup
    layout = pipeline.movie_layout(template)
    assert layout["positions"] == [1, 2]
    assert layout["channels"] == [0]
    assert len(layout["frames"]) >= 2 and layout["frames"][0] == 1


def test_run_position_writes_delta_results(setup, tmp_path):
    _, config, template = setup
    out = tmp_path / "results"
    summary = pipeline.run_position(str(config), template, out, 2, frames=(1, 4))
    assert summary["position"] == 2 and summary["rois"] == 1 and summary["frames"] == 4
    assert summary["rotate"] == 0.0 and summary["seconds"] > 0
    names = sorted(Path(p).name for p in summary["written"])
    movie = [n for n in names if n in ("Position000002.mp4", "Position000002_movie.png")]
    assert len(movie) == 1, names  # MP4 through ffmpeg, else an animated PNG
    assert sorted(set(names) - set(movie)) == ["Position000002.csv", "Position000002.nc",
                                               "Position000002.png", "Position000002_labels"]
    assert summary["written"][-1].endswith("Position000002.nc")  # the results file last
    labels = sorted((out / "Position000002_labels").iterdir())
    assert [p.name for p in labels] == [f"labels_{t:03d}.tif" for t in range(4)]
    header = (out / "Position000002.csv").read_text().splitlines()[0]
    assert header.startswith("position,roi,cell,frame,mother")

    # run() over both positions, without the pictures.
    both = pipeline.run(str(config), template, tmp_path / "all", frames=(None, 3),
                        labels=False, lineage_picture=False, movie=False)
    assert [s["position"] for s in both] == [1, 2]
    assert not (tmp_path / "all" / "Position000001_labels").exists()


def test_bad_inputs_are_refused_with_the_librarys_messages(setup, tmp_path):
    root, config, template = setup
    with pytest.raises(ValueError, match="not in the movie"):
        pipeline.run_position(str(config), template, tmp_path / "a", 7)
    with pytest.raises(ValueError, match="models.seg.min_aera"):
        pipeline.run_position(str(config), template, tmp_path / "b", 1,
                              settings=["models.seg.min_aera=3"])
    with pytest.raises(FileNotFoundError):
        pipeline.run_position(str(config), template, tmp_path / "c", 1,
                              settings=[f"models.seg.model_path={root / 'nothing'}"])
    with pytest.raises(ValueError, match="track"):
        # A segmentation model given as the tracking model.
        pipeline.run_position(str(config), template, tmp_path / "d", 1,
                              settings=[f"models.track.model_path={root / 'seg'}"])
    with pytest.raises(ValueError):
        # The output inside the movie's folder.
        pipeline.run_position(str(config), template, template.parent / "out", 1)
    assert not (template.parent / "out").exists()
    with pytest.raises(ValueError, match="matches no file|no file"):
        pipeline.run_position(str(config), template.parent / "Nothing{t}.png", tmp_path / "e", 1)
