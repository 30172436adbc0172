"""Photographs and barcode reading (OpenCV, pyzbar, zxing-cpp) and the photo store."""
