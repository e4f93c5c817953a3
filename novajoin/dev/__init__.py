"""Development mode: embedded defaults and an in-process IPA stand-in."""
