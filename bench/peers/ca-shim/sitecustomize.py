"""Make a peer trust the simulator's CA (put this directory on PYTHONPATH, set PEER_CA_BUNDLE).

Both peers send prepared requests with Session.send(), which never reads REQUESTS_CA_BUNDLE
(only Session.request() merges environment settings), so the env var alone is ignored and
every request fails CERTIFICATE_VERIFY_FAILED. Setting Session.verify on every new session
(requests_cache's CachedSession included) is equivalent to passing verify=PATH to each call.
"""
import os

_bundle = os.environ.get("PEER_CA_BUNDLE")
if _bundle:
    import requests

    _init = requests.Session.__init__

    def _init_with_ca(self, *args, **kwargs):
        _init(self, *args, **kwargs)
        self.verify = _bundle

    requests.Session.__init__ = _init_with_ca
