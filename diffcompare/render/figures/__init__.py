"""Figures of a kept sweep (matplotlib, imported only when a figure is drawn): the arrays to
draw, read off the sweep's fields, and the drawing. The finite-difference step study, which
computes, lives in diffcompare/plots above the engine."""
