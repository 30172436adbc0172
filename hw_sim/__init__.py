"""Simulated hardware: cabinets behind a real pymodbus server, a serial lock board, a camera,
a GSM modem (SMS) on a pty."""
