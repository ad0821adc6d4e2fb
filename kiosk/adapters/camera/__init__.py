"""Frame sources: a USB camera through OpenCV (`device`), a video file, an image folder and a scripted fake twin
(`files`), all on the capture thread and one-frame slot of `base`. Import them from here."""

from __future__ import annotations

from kiosk.adapters.camera.base import (
    MAX_SIDE,
    Frame,
    FrameSlot,
    FrameSource,
    SourceState,
    SourceStatus,
    ThreadedSource,
    valid_frame,
)
from kiosk.adapters.camera.device import CameraSettings, Capture, OpenCvCamera, open_opencv_capture
from kiosk.adapters.camera.files import (
    IMAGE_SUFFIXES,
    FakeFrameSource,
    ImageFolderSource,
    VideoFileSource,
    image_files,
    read_image,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_SIDE",
    "CameraSettings",
    "Capture",
    "FakeFrameSource",
    "Frame",
    "FrameSlot",
    "FrameSource",
    "ImageFolderSource",
    "OpenCvCamera",
    "SourceState",
    "SourceStatus",
    "ThreadedSource",
    "VideoFileSource",
    "image_files",
    "open_opencv_capture",
    "read_image",
    "valid_frame",
]
