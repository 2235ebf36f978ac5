"""The scoring service's domain: loaded versions, routing, request validation, the prediction log.

Nothing here knows HTTP; `appliance/http/` adapts wire protocols to it.
"""
