"""The district screen's Jinja2 pages (a package only so that they ship with the wheel)."""
