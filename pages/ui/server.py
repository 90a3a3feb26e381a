"""What `make run` serves: the lab's Streamlit app (app.py) as an ASGI app behind the lab's gate (lab/gate.py).

`streamlit run pages/ui/server.py` finds `app` below and serves it with uvicorn, on the address, port and options
of .streamlit/config.toml. The gate refuses hosts outside `server.allowedHosts` and, when LAB_PASSWORD (or
LAB_PASSWORD_FILE) is set, every route but the sign-in form and health until the password is given.
"""

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from lab.gate import Gate

APP = Path(__file__).resolve().parents[2] / "app.py"

app = st.App(APP, middleware=[Middleware(Gate, allowed_hosts=st.get_option("server.allowedHosts"))])
