"""Entry of the Streamlit UI: staff chat, citizen kiosk, admin console and the public AI register.

`assistant serve --kiosk` sets ASSISTANT_UI_MODE=kiosk: the app then opens on the kiosk and offers only the pages
a citizen may see (kiosk and register), with no navigation to the staff or admin pages."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run ui/app.py` puts ui/ on the path, not the repository root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui.messages import LANGS, t  # noqa: E402

# Not "pages/": Streamlit treats a pages/ folder beside the entry script as a legacy multipage app and, on the first
# request after start, runs a deep link (/chat) straight from it, bypassing this file and the kiosk-mode page list.
PAGES = Path(__file__).resolve().parent / "views"


def main() -> None:
    kiosk_mode = os.environ.get("ASSISTANT_UI_MODE", "").lower() == "kiosk"
    st.set_page_config(page_title=t("app_title"), page_icon="🏛️", layout="wide",
                       initial_sidebar_state="collapsed" if kiosk_mode else "auto")
    if "lang" not in st.session_state:
        st.session_state["lang"] = "ko"
    language = st.session_state["lang"]
    kiosk = st.Page(PAGES / "kiosk.py", title=t("nav_kiosk", language), icon=":material/support_agent:", url_path="kiosk",
                    default=kiosk_mode)
    register = st.Page(PAGES / "register.py", title=t("nav_register", language), icon=":material/policy:", url_path="register")
    if kiosk_mode:
        page = st.navigation([kiosk, register], position="hidden")
    else:
        chat = st.Page(PAGES / "chat.py", title=t("nav_chat", language), icon=":material/forum:", url_path="chat", default=True)
        admin = st.Page(PAGES / "admin.py", title=t("nav_admin", language), icon=":material/admin_panel_settings:", url_path="admin")
        page = st.navigation([chat, kiosk, admin, register])
        st.sidebar.radio(t("language", language), LANGS, key="lang", horizontal=True,
                         format_func=lambda x: "한국어" if x == "ko" else "English")
    page.run()


main()
