"""Worked chain-rule explanations read off the torch graph autograd really runs (the model;
render/ draws it). Named explanation, not explain, so `diffcompare.explain` stays the function."""
