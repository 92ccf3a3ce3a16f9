"""The wire protocol: envelopes, x-tif authentication, infno dispatch, message discipline."""
