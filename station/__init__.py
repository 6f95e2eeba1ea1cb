"""Visual inspection station. Importing this package is cheap on purpose: no torch, no cv2, no Qt."""

import os as _os

__version__ = "0.9.14"

# ONNX Runtime's Linux builds start a telemetry client at import that writes a device id and a
# database under ~/.cache/Microsoft and tries to send events. A station runs offline on plant
# networks and writes only to its data dir; this must be set before onnxruntime is imported.
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
