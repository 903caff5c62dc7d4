"""Values to verdicts: each method against the reference under its own bound, and why a
method failed where it did."""
