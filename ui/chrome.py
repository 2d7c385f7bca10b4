"""Streamlit's own words in the UI language: CSS that relabels the file uploader (button, limit,
drop hint) and the hint under text fields, injected once per script run.

Streamlit draws these texts in English whatever the page's language; CSS hides them and shows
ours instead (``::after``). The selectors are Streamlit's ``data-testid`` attributes as
Streamlit 1.67 draws them (checked in Chromium, ``tests/test_browser.py``). The Deploy button
and the developer menu are hidden by ``client.toolbarMode = "minimal"`` (.streamlit/config.toml
and ``gridpatrol serve``), not here.
"""
from __future__ import annotations

from ui.i18n import text

__all__ = ["chrome_css", "apply_chrome"]

_UPLOADER = '[data-testid="stFileUploaderDropzone"]'
# The fonts of the texts replaced: Streamlit's small text (14px) and its input hint (12px).
_SMALL, _HINT = "font-size: 0.875rem; line-height: 1.6;", "font-size: 0.75rem; line-height: 1.6;"


def _css_string(value: str) -> str:
    """``value`` as a CSS string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ")
    return f'"{escaped}"'


def _relabel(selector: str, label: str, font: str = _SMALL) -> str:
    """CSS that hides the text of ``selector`` and shows ``label`` in its place."""
    return (f"{selector} {{ font-size: 0 !important; line-height: 0 !important; }}\n"
            f"{selector}::after {{ content: {_css_string(label)}; {font} }}\n")


def chrome_css(lang: str, *, max_upload_mb: int | float = 200) -> str:
    """The ``<style>`` element that puts Streamlit's own texts in ``lang``: the uploader's
    button (``浏览文件``), its size limit (``每个文件不超过 200 MB``; ``max_upload_mb`` is
    ``server.maxUploadSize``) and drop hint, and in Chinese the hint under text fields."""
    mb = f"{max_upload_mb:g}"
    css = [
        _relabel(f'{_UPLOADER} [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p',
                 text("chrome.browse", lang)),
        _relabel(f'{_UPLOADER} [data-testid="stFileUploaderDropzoneInstructions"] span',
                 text("chrome.limit", lang, mb=mb)),
        _relabel(f"{_UPLOADER} > div:not([data-testid]) > span", text("chrome.drop", lang)),
    ]
    if lang != "en":  # "Press Enter to apply" / "... to submit form": Streamlit's English is right in English
        css.append(_relabel('[data-testid="InputInstructions"] > span:first-child', text("chrome.enter", lang),
                            _HINT))
    return "<style>\n" + "".join(css) + "</style>"


def apply_chrome() -> None:
    """Inject ``chrome_css`` for the session's language (call once per script run, from app.py)."""
    import streamlit as st

    from ui.i18n import current_language

    st.html(chrome_css(current_language(), max_upload_mb=st.get_option("server.maxUploadSize")))
