"""Label printers: TSPL (TSC-compatible, GB fonts) and ZPL (Zebra) over TCP 9100 or a device
file, behind :class:`custody.ports.LabelPrinter` (docs/labels.md)."""
