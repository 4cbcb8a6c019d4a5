"""The software of a Mobile Dialogue Unit's cinema rig: `rigd` and `rigctl`."""

__version__ = "0.1.0"
