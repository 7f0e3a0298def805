"""The version of brm_xl: RefreshLog rows and every report record it."""

__version__ = "0.1.0"
