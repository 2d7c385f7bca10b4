"""A CJK font for matplotlib, so that Chinese text in drawn maps and reports is not empty boxes."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from matplotlib import font_manager

from geo.errors import GridPatrolError

__all__ = ["CJK_FONT_FAMILIES", "FONT_FIX", "find_cjk_font"]

log = logging.getLogger(__name__)

# Families tried in order; the first one matplotlib can load is used for every text.
CJK_FONT_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR",
    "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "Source Han Sans",
    "Noto Serif CJK SC", "Noto Serif CJK JP", "Source Han Serif SC",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN",
    "AR PL UKai CN", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB",
)
_CJK_FILE_HINTS = ("cjk", "wqy", "wenquanyi", "sourcehan", "droidsansfallback", "uming", "ukai",
                   "msyh", "simhei", "pingfang", "notosanssc", "notoserifsc")
FONT_FIX = ("install a CJK font: `apt-get install fonts-noto-cjk` (Debian/Ubuntu; `make setup` "
            "does it as root)")


def _font_files() -> list[str]:
    files = set(font_manager.findSystemFonts())
    for folder in ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"),
                   str(Path.home() / ".local/share/fonts")):
        if os.path.isdir(folder):
            files.update(font_manager.findSystemFonts(fontpaths=[folder]))
    return sorted(f for f in files if any(h in Path(f).name.lower().replace("-", "").replace("_", "")
                                          for h in _CJK_FILE_HINTS))


def find_cjk_font() -> str:
    """The family name of a CJK font matplotlib can use (registering font files it has not seen
    yet, e.g. ones installed after matplotlib built its cache).

    Raises GridPatrolError with the fix when the machine has none.
    """
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FONT_FAMILIES:
        if family in known:
            return family
    for path in _font_files():
        try:
            font_manager.fontManager.addfont(path)
        except Exception:  # an unreadable font file: try the next one
            log.debug("cannot load font %s", path, exc_info=True)
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FONT_FAMILIES:
        if family in known:
            return family
    raise GridPatrolError("no CJK font found for Chinese text in drawn maps (looked for "
                          f"{', '.join(CJK_FONT_FAMILIES[:4])}, WenQuanYi, Source Han…); {FONT_FIX}")
