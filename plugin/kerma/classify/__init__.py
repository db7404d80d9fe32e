"""Local protocol and procedure names → standard exam names, by ordered rules that are data."""
