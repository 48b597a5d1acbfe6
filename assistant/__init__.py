"""Sovereign administrative assistant: index, retrieve and answer over a government's own documents."""
from .settings import Settings

__all__ = ["Assistant", "Settings"]


def __getattr__(name):  # keep `import assistant` light: the facade pulls numpy and friends
    if name == "Assistant":
        from .facade import Assistant

        return Assistant
    raise AttributeError(name)
