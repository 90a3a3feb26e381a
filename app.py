"""RAG vs Fine-Tuning Lab: the frame (page config, navigation, shared sidebar). Pages draw; lab/ works."""

from pathlib import Path

import streamlit as st

from pages.ui.frame import login_gate, sidebar

# a local image: an icon name or an emoji would make the browser fetch the favicon from a font or emoji CDN
ICON = str(Path(__file__).resolve().parent / "pages" / "ui" / "icon.png")
st.set_page_config(page_title="RAG vs Fine-Tuning Lab", page_icon=ICON, layout="wide")

navigation = st.navigation([
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/corpus.py", title="Corpus", icon=":material/library_books:"),
    st.Page("pages/golden.py", title="Golden sets", icon=":material/fact_check:"),
    st.Page("pages/models.py", title="Models", icon=":material/model_training:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/results.py", title="Results", icon=":material/bar_chart:"),
    st.Page("pages/decide.py", title="Decide", icon=":material/rule:"),
])
login_gate()  # LAB_PASSWORD / OIDC, when configured: nothing below runs until passed
sidebar()
navigation.run()
