"""Composition root: configuration, the edge daemon, the ``locker`` command and the demo."""
