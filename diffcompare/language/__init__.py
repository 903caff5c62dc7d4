"""Text to Problem: the op table, the safe parser and its limits, arrays, the parsed problem."""
