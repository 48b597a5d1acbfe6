"""Sovereign administrative assistant: index, retrieve and answer over a government's own documents."""
import os

# The embedder's C engine and FAISS each run an OpenMP team; with the default busy-wait policy the idle team spins
# and starves the other on 2 cores (measured: 1.7 s instead of 55 ms per query at 100k chunks). Must be set before
# either library starts its threads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from .settings import Settings

__all__ = ["Assistant", "Settings"]


def __getattr__(name):  # keep `import assistant` light: the facade pulls numpy and friends
    if name == "Assistant":
        from .facade import Assistant

        return Assistant
    raise AttributeError(name)
