"""One module per piece of hardware. Devices know nothing of shows."""
