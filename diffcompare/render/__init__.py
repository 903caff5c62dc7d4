"""Renderers: reports and explanations as text, Markdown, JSON, LaTeX and DOT. They read
results by their fields and never compute, so the results can show themselves through them."""
