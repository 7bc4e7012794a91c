"""The models and the figures a wave's results hold."""
