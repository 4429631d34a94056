"""``l1bsr batch``: many inputs, one command, on a Dask cluster (embedded or existing).

One concept per module: :mod:`.items` (inputs → work items with output names),
:mod:`.manifest` (``OUT_DIR/manifest.jsonl``: what was done, skipped or failed),
:mod:`.worker` (the task a Dask worker runs), :mod:`.engine` (the cluster, submitting, gathering),
:mod:`.commands` (the command line and its progress bar).
"""
