"""The answer step: follow-up rewriting, unit selection, answer-or-refuse, composition."""
