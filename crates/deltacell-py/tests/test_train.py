"""deltacell.model.train: the library's training session from Python. A run trained in two
sessions (one epoch, then resumed to two) ends with the same model, byte for byte, as the run
trained in one; the checks of the session refuse what ``deltacell train`` refuses."""

from __future__ import annotations

import pytest

from deltacell import model

TINY = dict(preset="mothermachine", epochs=2, steps_per_epoch=2, batch_size=1, filters=[4, 8])


def test_train_then_resume_gives_the_uninterrupted_model(tmp_path):
    whole = model.train("seg", "builtin:synth", tmp_path / "whole", **TINY)
    assert whole["reason"] == "completed" and whole["steps"] == 4
    assert [r["epoch"] for r in whole["epochs"]] == [1, 2]
    assert all(r["val_loss"] is not None for r in whole["epochs"])

    first = model.train("seg", "builtin:synth", tmp_path / "split", **{**TINY, "epochs": 1})
    assert len(first["epochs"]) == 1 and first["steps"] == 2
    resumed = model.train("seg", "builtin:synth", tmp_path / "split", resume=True, **TINY)
    assert resumed["steps"] == 4 and [r["epoch"] for r in resumed["epochs"]] == [1, 2]
    assert [r["loss"] for r in resumed["epochs"]] == [r["loss"] for r in whole["epochs"]]
    for f in ("model.safetensors", "model.toml", "history.csv", "config.toml"):
        assert (tmp_path / "split" / f).is_file(), f
    assert (tmp_path / "split" / "model.safetensors").read_bytes() == \
        (tmp_path / "whole" / "model.safetensors").read_bytes()

    # The trained model predicts through the same package.
    p = model.Predictor(tmp_path / "split")
    assert p.info["kind"] == "seg" and p.info["filters"] == [4, 8]


def test_session_checks_refuse(tmp_path):
    model.train("seg", "builtin:synth", tmp_path / "run", **{**TINY, "epochs": 1})
    with pytest.raises(FileExistsError):
        model.train("seg", "builtin:synth", tmp_path / "run", **TINY)
    with pytest.raises(ValueError, match="seed 1, not 2"):
        model.train("seg", "builtin:synth", tmp_path / "run", resume=True, seed=2, **TINY)
    with pytest.raises(ValueError, match="holds a seg model"):
        model.train("rois", "builtin:synth", tmp_path / "tuned", init_from=tmp_path / "run", **TINY)
    with pytest.raises(ValueError):
        model.train("cells", "builtin:synth", tmp_path / "other", **TINY)
