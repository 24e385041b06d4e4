"""The pipeline's steps: one function per Snakemake rule, files in, files out.

The step of rule ``X`` is ``X_step`` in ``track2vec/pipeline/X.py`` (rule ``evaluate``:
:func:`track2vec.pipeline.evaluate.evaluate_step`). The script of the rule,
``scripts/X.py``, only unpacks the ``snakemake`` object and calls it, so every step can also
be run and tested without Snakemake. Outputs are written atomically.

This package is the orchestration layer: it reads and writes the results folder's files
and calls the library (:mod:`track2vec.train`, :mod:`track2vec.models`, ...). The library
and the user-facing API (:mod:`track2vec.recommend`, :mod:`track2vec.radio`,
:mod:`track2vec.cli`) never import it. Importing the package imports none of its modules,
and a step imports only what it runs, so that a rule depends on the code of its own step
(:mod:`track2vec.codedeps`).
"""
