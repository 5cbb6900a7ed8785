"""The bare baseline: a trivial Litestar handler under uvicorn with the gateway's server settings (one process,
uvloop + httptools, no access log), so `bench.dashboard` can say how far the real page is from the framework floor.

`python -m bench.hello PORT` serves `GET /hello` on 127.0.0.1:PORT until stopped.
"""

from __future__ import annotations

import sys

import uvicorn
from litestar import Litestar, get


@get("/hello", media_type="text/plain")
async def hello() -> str:
    return "hello"


app = Litestar(route_handlers=[hello])


def main() -> None:
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False, server_header=False)


if __name__ == "__main__":
    main()
