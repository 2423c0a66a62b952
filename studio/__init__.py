"""funcstudio: a terminal studio for serverless Python functions.

This module imports nothing on purpose: `funcstudio routes` and friends must start fast.
"""

__version__ = "0.1.0"
