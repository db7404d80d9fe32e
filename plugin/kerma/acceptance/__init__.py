"""The medical physics expert's acceptance kit: what a device really sends, per device (issue 16 §3).

When a device is connected, or after a software upgrade, :func:`kerma.acceptance.report.device_report` tells from
the dose database which fields it fills (always, sometimes, never across its studies), the units it writes, the
sources it uses, whether its reports' event counts agree with their events and its images, how much of it is
mapped to standard exams, how many performed orders have its dose, and the first studies to check by hand.
"""
