"""Seeing results: HTML galleries of output folders and a local web page (`python -m i2i serve`)."""
