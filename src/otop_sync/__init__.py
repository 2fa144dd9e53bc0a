"""otop_sync: grade the districts' OTOP mission reports of a Thai province, unattended."""

__version__ = "0.1.0"
