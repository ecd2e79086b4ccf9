"""The form of an outside provider's settings (SMS platform, call centre): kind, address,
account, a write-only secret and the timeout."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, label_of
from crm_core.platform.provider_settings import ProviderConfig
from ui.db import session
from ui.feedback import flash
from ui.i18n import show_error, t


def provider_form(
    key: str, config: ProviderConfig, kinds: Sequence[str], family: str, save: Callable
) -> None:
    """Draw the form; on submit call `save(session, kind=..., base_url=..., account=...,
    secret=..., timeout_seconds=...)` in its own transaction."""
    with st.form(key):
        st.subheader(t("Provider"))
        kinds = list(kinds)
        kind = st.selectbox(
            t("Provider"),
            kinds,
            index=kinds.index(config.kind) if config.kind in kinds else 0,
            format_func=lambda k: t(label_of(family, k)),
        )
        base_url = st.text_input(t("Address (https://...)"), value=config.base_url)
        account = st.text_input(t("Account"), value=config.account)
        secret = st.text_input(
            t("Secret (stored encrypted; leave empty to keep the stored one)"),
            type="password",
            placeholder=t("A secret is stored") if config.has_secret else "",
        )
        timeout = st.number_input(t("Timeout (seconds)"), 1.0, 60.0, config.timeout_seconds)
        submitted = st.form_submit_button(t("Save the provider"))
    if submitted:
        try:
            with session() as s:
                save(
                    s,
                    kind=kind,
                    base_url=base_url,
                    account=account,
                    secret=secret or None,
                    timeout_seconds=timeout,
                )
        except CrmError as error:
            show_error(error)
        else:
            flash(N_("Provider saved."))
            st.rerun()
