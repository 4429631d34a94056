"""Self-supervised training of CSR and REC (``python -m l1bsr_core.train``)."""
