"""Every way in: the HTTP service, the Redis queue and the command line."""
