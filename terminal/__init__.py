"""The kiosk: the touchscreen web front end at the cabinets (the write side of HTTP)."""
