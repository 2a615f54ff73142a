#!/usr/bin/env bash
# SpliceAI is a benchmark peer only, NOT a dependency of genorrn: it gets its own venv,
# outside the repository, used by benchmarks/spliceai_peer.py (--spliceai-bin).
#
# Creates VENV (default /work/spliceai-venv) with SpliceAI 1.3.1 on CPU TensorFlow 2.15.
# Why these pins:
#   * SpliceAI does `from keras.models import load_model` on .h5 models: Keras 3
#     (TensorFlow >= 2.16) cannot load them; tensorflow-cpu 2.15.1 ships keras 2.15.0.
#   * numpy<2: TF 2.15 is built against numpy 1.x (SpliceAI also uses np.fromstring).
#   * setuptools<81: spliceai/utils.py imports pkg_resources.
#   * pandas<3 only for a tested, stable table reader; pandas 3.0.6 also worked.
# Tested with Python 3.11.7 (pyenv) on x86-64 Linux, no GPU.
# Usage: bash benchmarks/spliceai_env.sh [VENV]
set -euo pipefail

VENV="${1:-/work/spliceai-venv}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip
"$VENV/bin/pip" install \
    "tensorflow-cpu==2.15.1" \
    "keras==2.15.0" \
    "numpy==1.26.4" \
    "setuptools<81" \
    "pandas<3" \
    "spliceai==1.3.1"

# smoke test: imports keras 2 and finds the bundled models
"$VENV/bin/python" - <<'EOF'
import importlib.metadata as m
import keras, numpy
assert keras.__version__.startswith("2."), keras.__version__
from spliceai.utils import Annotator  # noqa: F401  (pkg_resources, keras.models)
print("spliceai", m.version("spliceai"), "keras", keras.__version__, "numpy", numpy.__version__)
EOF
echo "spliceai CLI: $VENV/bin/spliceai"
