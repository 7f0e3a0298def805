"""brm_xl: chargeback and business relationship management in Excel workbooks."""

__version__ = "0.1.0"
