"""Importer for BLURB's own TSV releases (Gu et al., 2021), e.g. BIOSSES.

BLURB ships its sentence-similarity set as ``train.tsv``, ``dev.tsv`` and
``test.tsv`` with a header (``pair_id``, ``sent1``, ``sent2``, ``score``), tab
separated and unquoted: the GLUE TSV dialect, so the reading (and every
strictness rule) is :mod:`tasks.importers.glue_tsv`'s, configured by the task's
``importer_options`` (:class:`~tasks.importers.glue_tsv.GlueTsvConfig`). BLURB's
other tasks come from its Hugging Face mirrors and are read by
:mod:`tasks.importers.datasets_files`.

What differs is how the splits are used, the same for every BLURB task in the
catalogue: BLURB reports test-set scores and its test labels are public, so
``test`` is the scored eval split (labels kept, never served to a model, like any
eval split), ``train`` trains, and ``dev`` becomes the task's ``dev_split``
(``validation``): labelled rows a runner may use to pick a checkpoint, never
scored. This importer refuses a BLURB spec that would score the dev set or leave
the test set unscored, so a spec edit cannot quietly change what the numbers mean.
"""

from __future__ import annotations

from tasks.importers.glue_tsv import GlueTsvImporter
from tasks.specs import TaskSpec


class BlurbTsvImporter(GlueTsvImporter):
    """The ``blurb_tsv`` importer: GLUE's TSV reader plus BLURB's split rule."""

    def check_options(self, task: TaskSpec) -> None:
        """Validate options as ``glue_tsv`` does, and BLURB's split layout."""
        super().check_options(task)
        check_blurb_splits(task)


def check_blurb_splits(task: TaskSpec) -> None:
    """Raise ValueError unless test is scored and dev is the unscored dev split."""
    if task.eval_splits != ("test",) or task.test_splits:
        raise ValueError("a BLURB task is scored on its test split: eval_splits=[test]")
    if task.dev_split is not None and task.dev_split in task.eval_splits:
        raise ValueError("a BLURB dev split is for model selection, not scoring")


IMPORTER = BlurbTsvImporter()
