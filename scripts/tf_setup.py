"""TensorFlow set-up shared by the scripts that run DeLTA's side (`tf_train_step.py`,
`real_colonies/delta_recipe.py`): quiet logs and warnings, `threads` intra-op threads and one
inter-op thread (the U-Net is a chain: a second pool only competes for the same cores)."""

import os


def tensorflow(threads: int):
    """Imports TensorFlow configured for `threads` cores and returns the module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    warnings.filterwarnings("ignore")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf
