"""Visual inspection station. Importing this package is cheap on purpose: no torch, no cv2, no Qt."""

__version__ = "0.6.0"
