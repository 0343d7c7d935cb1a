"""Modal screens: help, kiosk PIN, confirmation."""
