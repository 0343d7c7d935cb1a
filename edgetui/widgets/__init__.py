"""Textual widgets and screens both faces use, the device dashboard (`edgetui.tui`) and the
fleet console (`edgetui.fleet.ui`): a shared layer beneath both, since neither may import
the other. Offers nothing from here: import the module (`edgetui.widgets.confirm`)."""
