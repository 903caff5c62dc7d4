"""Problem to derivative values: the symbolic formula, the compiled torch tape (reverse and
forward mode), finite differences and the 50-digit reference, each with its error model."""
