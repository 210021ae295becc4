"""The worker <-> sandbox contract, in one place (STYLE rule 15).

Two processes that never share memory agree on four things, and this package is
the only place that states them; the worker (``leaderboard.submissions``), the
in-sandbox program (``runners.execute``), the launcher (``runners.sandbox``) and
the tests all import it (``from runners.contract import ...``) rather than
restating it:

* ``folder``: the job folder's layout (``JOB_ROOT`` and the names under it);
* ``spec``: the job spec, ``spec.json`` (:class:`JobSpec`, with its validation:
  a worker bug fails in one clear ``execute.bad_spec`` line instead of a
  traceback deep in training), and the part the launcher reads
  (:class:`LaunchSettings`);
* ``lines``: the lines the program prints that the worker reads, progress
  (:func:`format_progress` / :func:`parse_progress`) and the final error
  (:func:`format_error` / :func:`parse_error`), with the exit statuses;
* ``measurements``: the keys of ``measurements.json`` (:data:`MEASUREMENT_KEYS`)
  and the subset a Result publishes (:data:`EFFICIENCY_KEYS`).

Plain Python, standard library plus ``tasks.errors``: the web process imports it
without loading torch, and the sandbox imports it without Django.
"""

from runners.contract.folder import (
    DATA_DIR,
    JOB_ROOT,
    MEASUREMENTS_FILE,
    MODEL_DIR,
    OUT_DIR,
    PREDICTIONS_DIR,
    SPEC_FILE,
    data_file,
    inside_job,
    measurements_file,
    predictions_file,
)
from runners.contract.lines import (
    ERROR_PREFIX,
    EXIT_BAD_INPUT,
    EXIT_CRASHED,
    EXIT_OUT_OF_MEMORY,
    OUT_OF_MEMORY_CODE,
    PROGRESS_PREFIX,
    format_error,
    format_progress,
    parse_error,
    parse_progress,
)
from runners.contract.measurements import EFFICIENCY_KEYS, MEASUREMENT_KEYS
from runners.contract.spec import (
    METHODS,
    OPTIMIZERS,
    PRECISIONS,
    REQUIRED_RECIPE_KEYS,
    SCHEDULERS,
    SPEC_VERSION,
    TASK_TYPES,
    TOKEN_CLASSIFICATION,
    JobData,
    JobSpec,
    LaunchSettings,
    TaskInputs,
    bad_spec,
)

__all__ = [
    "DATA_DIR",
    "EFFICIENCY_KEYS",
    "ERROR_PREFIX",
    "EXIT_BAD_INPUT",
    "EXIT_CRASHED",
    "EXIT_OUT_OF_MEMORY",
    "JOB_ROOT",
    "MEASUREMENTS_FILE",
    "MEASUREMENT_KEYS",
    "MODEL_DIR",
    "OUT_DIR",
    "OUT_OF_MEMORY_CODE",
    "METHODS",
    "OPTIMIZERS",
    "PRECISIONS",
    "PREDICTIONS_DIR",
    "REQUIRED_RECIPE_KEYS",
    "PROGRESS_PREFIX",
    "SCHEDULERS",
    "SPEC_FILE",
    "SPEC_VERSION",
    "TASK_TYPES",
    "TOKEN_CLASSIFICATION",
    "JobData",
    "JobSpec",
    "LaunchSettings",
    "TaskInputs",
    "bad_spec",
    "data_file",
    "format_error",
    "format_progress",
    "inside_job",
    "measurements_file",
    "parse_error",
    "parse_progress",
    "predictions_file",
]
