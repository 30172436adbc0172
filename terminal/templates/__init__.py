"""The terminal's Jinja2 screens (a package only so that they ship with the wheel)."""
