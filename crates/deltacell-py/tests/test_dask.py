"""The Dask example (scripts/dask/run_positions.py) on a LocalCluster of 2 worker processes:
the same files as one process running every position, byte for byte; a second run skips
every position; the merged experiment table equals the single process's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from deltacell import pipeline

REPO = Path(__file__).resolve().parents[3]


def _distributed():
    try:
        import dask.distributed  # noqa: F401
    except ImportError as e:  # pragma: no cover - CI installs dask[distributed]
        pytest.skip(f"dask.distributed is not importable ({e}); pip install 'dask[distributed]'")
    spec = importlib.util.spec_from_file_location(
        "deltacell_dask_example", REPO / "scripts" / "dask" / "run_positions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def experiment(tmp_path_factory, mm_experiment):
    """A synthetic mother-machine movie of 4 positions and tiny trained models."""
    root = tmp_path_factory.mktemp("dask")
    config, template = mm_experiment(root, 4)
    return root, str(config), str(template)


def _files(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_dask_local_cluster_gives_the_single_process_files(experiment, tmp_path):
    example = _distributed()
    from dask.distributed import Client, LocalCluster

    _, config, template = experiment
    one = tmp_path / "one"
    pipeline.run(config, template, one, movie=False)
    single = pipeline.merge(one)
    assert single["table"] is not None

    out = tmp_path / "dask"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        first = example.run_positions(client, config, template, str(out), movie=False)
        assert first["failed"] == {}
        assert [s["position"] for s in first["summaries"]] == [1, 2, 3, 4]
        assert not any(s["skipped"] for s in first["summaries"])
        # Two worker processes, each its own process id.
        workers = client.run(lambda: __import__("os").getpid())
        assert len(set(workers.values())) == 2
        # Run again (a resubmitted graph after a crash): every position is skipped.
        again = example.run_positions(client, config, template, str(out), movie=False)
        assert all(s["skipped"] for s in again["summaries"])

    report = first["merge"]
    assert [e["status"] for e in report["positions"]] == ["complete"] * 4
    assert _files(out) == _files(one)
    for name in _files(one):
        assert (out / name).read_bytes() == (one / name).read_bytes(), name


def test_merge_names_a_missing_position(experiment, tmp_path):
    _, config, template = experiment
    out = tmp_path / "partial"
    for p in (1, 3):
        pipeline.run_position(config, template, out, p, movie=False, experiment=[1, 2, 3])
    report = pipeline.merge(out)
    assert report["table"] is None
    status = {e["position"]: e["status"] for e in report["positions"]}
    assert status == {1: "complete", 2: "missing", 3: "complete"}
    # A changed setting is refused, naming it, then redone with redo=True.
    with pytest.raises(ValueError, match="configuration"):
        pipeline.run_position(config, template, out, 1, movie=False,
                              settings=["models.seg.min_area=30"])
    done = pipeline.run_position(config, template, out, 1, movie=False, redo=True,
                                 settings=["models.seg.min_area=30"])
    assert done["skipped"] is False
