"""Signals of our own, sent through ``crawler.signals``."""

# Sent by the spider when a breadth-first level is complete and every item of it
# has gone through the pipelines: the exporter commits its open chunk, so that
# the committed dataset always holds whole levels (what a resumed run replays).
checkpoint = object()
