"""The test oracle: checking other people's gradient code against the 50-digit truth."""
