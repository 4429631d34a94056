"""Helpers shared by the app tests (API and browser): weights, a local mirror, an in-process app."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import socket
import threading
from pathlib import Path

from l1bsr_core import demo, weights

PROJECT = Path(__file__).resolve().parents[1]
SHARED_EXAMPLES = PROJECT.parent / "shared" / "data" / "l1b-examples"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve_folder(folder: Path):
    """Serve ``folder`` over HTTP on 127.0.0.1 (a stand-in for the authors' examples folder)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def ensure_weights(folder: Path) -> None:
    """Use the shipped networks if registered, else write small random ones and point the env at them."""
    if weights.available_models("rec") and weights.available_models("csr"):
        return
    import torch

    torch.manual_seed(0)
    for kind in weights.KINDS:
        path = folder / f"{kind}.safetensors"
        weights.save_checkpoint(weights.build_model(kind), path, version="random-test")
        weights.register_weights(kind, path, description="random weights for tests", folder=folder)
    os.environ[weights.WEIGHTS_DIR_ENV] = str(folder)


@contextlib.contextmanager
def running_app(root: Path, examples_url: str):
    """Launch ``app.build_demo()`` in-process on a free port; yields its URL; restores the environment."""
    saved_env = {k: os.environ.get(k) for k in (weights.WEIGHTS_DIR_ENV, demo.EXAMPLES_URL_ENV, demo.CACHE_ENV)}
    ensure_weights(root)
    os.environ[demo.EXAMPLES_URL_ENV] = examples_url
    os.environ[demo.CACHE_ENV] = str(root / "cache")
    demo.reset_real_examples()
    import app

    blocks = app.build_demo()
    port = free_port()
    blocks.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                  **app.LAUNCH_OPTIONS)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        blocks.close()
        demo.reset_real_examples()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
