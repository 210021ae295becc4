"""Importers: read a task's original release files into a :class:`Dataset`.

One module per file format (``glue_tsv``, ...), each registered by name in
:mod:`tasks.importers.formats` (the name a task spec's ``importer`` key uses);
:mod:`tasks.importers.loading` finds a task's folder and runs its importer. This
file stays empty so that importing one format module loads nothing else.
"""
