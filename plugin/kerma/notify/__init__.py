"""Notifications: recipients by role, device and site; a durable outbox; SMTP and webhook delivery."""
