"""Occupational dose (issue 13 §6): personal dosimetry reports read through a column mapping, the readings of monitored
staff, and the doses the annual limits are about (effective dose, lens of the eye, skin, extremities) estimated per
person, department and window, each with its method."""
