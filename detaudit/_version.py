"""The version, importable without importing the rest of detaudit."""
__version__ = "0.1.0"
