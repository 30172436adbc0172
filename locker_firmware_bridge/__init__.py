"""Cabinet controller drivers: Modbus RTU/TCP and the serial lock board, and the poller."""
