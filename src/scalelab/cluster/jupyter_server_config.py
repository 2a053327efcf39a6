# JupyterLab's server config, named by `--config` in `scalelab serve jupyterlab` (both runtimes).
# The settings live in scalelab.cluster.jupyter, where a unit test reads them.
from scalelab.cluster.jupyter import configure
from scalelab.config import Config

configure(get_config(), Config.load())  # noqa: F821 (get_config is the config loader's)
