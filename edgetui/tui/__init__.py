"""The Textual dashboard. The only package in edgetui that imports Textual."""
