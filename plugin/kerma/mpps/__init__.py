"""Modality Performed Procedure Step: Kerma's MPPS SCP (a listener process), the instances it keeps, their dose."""
