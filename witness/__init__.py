"""The log leaving the station, witness side and station side (DESIGN.md §3.6).

- :mod:`witness.store`, :mod:`witness.core`, :mod:`witness.app`: a C2SP tlog-witness v1.0.0
  (``locker witness init | add-log | serve``), one small SQLite-backed service;
- :mod:`witness.client`, :mod:`witness.station`: the station's side, which submits each new
  checkpoint to its ``[[witness]]`` list and keeps the cosignatures beside the checkpoint.
"""
