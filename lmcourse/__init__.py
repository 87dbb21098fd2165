"""lmcourse: an interactive course on how language models learn.

Light on purpose: ``import lmcourse`` pulls in neither TensorFlow nor torch; the chapter modules
that need them (``lmcourse.lstm``, ``lmcourse.transformer``, ``lmcourse.classifier``) import them.
"""

from lmcourse.runtime import PROFILES, Runtime, detect_profile, setup

__all__ = ["PROFILES", "Runtime", "detect_profile", "setup"]
__version__ = "0.1.0"
