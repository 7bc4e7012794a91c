"""The command line and the UI it starts."""
