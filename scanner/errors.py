"""Errors raised by the scanner: camera, image decoding, label checks and the photo store.

Each is a :class:`custody.errors.LockerError`, so the CLI and the daemon show its message;
one subclass per failure a caller handles differently (retry the camera, ask the clerk to
re-scan, refuse the label, investigate a damaged photo store).
"""

from __future__ import annotations

from custody.errors import DiskFullError, LockerError


class ScannerError(LockerError):
    """Root of every scanner failure."""


class CameraError(ScannerError):
    """The camera cannot be opened, stopped delivering frames, or vanished.

    A custody step that needs a photo stops when this is raised: no step without its photo.
    """


class EmptyFrameError(ScannerError):
    """A frame or image has no pixels (zero bytes, zero width or zero height)."""


class ImageDecodeError(ScannerError):
    """Bytes that should be an image are corrupt or in a format OpenCV cannot read."""


class LabelScanError(ScannerError):
    """The labels read from a frame don't name exactly one valid item label.

    Raised when a step needs one label and the frame holds none, several, or only reads
    that are not labels or carry a wrong check character. Nothing is stored under a label
    that raised this.
    """


class PhotoStoreError(ScannerError):
    """The photo store cannot keep a photo (bad metadata, disk failure, damaged store)."""


class PhotoNotFoundError(PhotoStoreError):
    """No photo with this SHA-256 is in the store."""


class PhotoStoreFullError(PhotoStoreError, DiskFullError):
    """The disk filled up while a photo was stored: what this put had begun is removed,
    so the store holds the photo whole (bytes, metadata, thumbnail) or not at all."""
