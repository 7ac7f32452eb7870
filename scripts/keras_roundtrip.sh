#!/usr/bin/env bash
# Checks `deltacell export-keras` in Keras itself (TensorFlow >= 2.16 / Keras 3, DeLTA 2.0.7).
#
#   scripts/keras_roundtrip.sh [PYTHON]
#
# PYTHON: a Python with tensorflow(-cpu) and delta2 installed. Without it, a virtual
# environment is made in ${KERAS_VENV:-target/keras-venv} with
#   python3 -m venv target/keras-venv && target/keras-venv/bin/pip install tensorflow-cpu delta2
# (about 600 MB; a few minutes with a warm pip cache).
#
# Then runs the test `keras_tf` of deltacell-nn with DELTACELL_TF_PYTHON set. It exports tiny
# seg/track/rois models (custom filters), DeLTA's full-filter architectures at 1-3 levels, a
# model at another input size (--input-size) and DeLTA 2.0.7's reference models (imported
# from .hdf5, exported again), in both formats; loads each file with
# load_model(path, compile=False) and the full-filter ones with load_weights(path) into
# delta.model.unet_seg/unet_track/unet_rois; and compares Keras' predictions with deltacell's
# probabilities (max |diff| <= 1e-4) or, for the reference models, with DeLTA's own outputs
# (<= 1e-5). Prints one line per check.
#
# By hand, for one of your own run folders:
#   deltacell export-keras runs/moma_seg --out unet_moma_seg.hdf5
#   python -c "import tensorflow as tf; m = tf.keras.models.load_model('unet_moma_seg.hdf5', compile=False); m.summary()"
#   # DeLTA 2.0.7: config key model_file_seg = "unet_moma_seg.hdf5"
set -euo pipefail
cd "$(dirname "$0")/.."

python="${1:-${DELTACELL_TF_PYTHON:-}}"
if [[ -z "$python" ]]; then
    venv="${KERAS_VENV:-target/keras-venv}"
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "creating $venv (tensorflow-cpu, delta2)..." >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet tensorflow-cpu delta2
    fi
    python="$venv/bin/python"
fi
TF_CPP_MIN_LOG_LEVEL=2 "$python" -c "import tensorflow, keras, delta; print('TensorFlow', tensorflow.__version__, '| Keras', keras.__version__)"

# cargo runs the test from the crate's folder: make the path absolute (not resolving the
# symlink, which would leave the virtual environment).
if [[ "$python" != */* ]]; then
    python="$(command -v "$python")"
elif [[ "$python" != /* ]]; then
    python="$(pwd)/$python"
fi
DELTACELL_TF_PYTHON="$python" cargo test --workspace --test keras_tf -- --nocapture
