"""The fonts sheets print in: found on the host, registered once per process, chosen per character.

Three chains, one per kind of face a sheet names: sans (Arial, Microsoft Sans
Serif, Tahoma, blank, unknown), serif (Times New Roman...) and mono (Courier
New...). Each is Liberation (metric-compatible with Arial, Times New Roman and
Courier New, so text wraps where Open Dental wraps it), then DejaVu (Greek,
Cyrillic, Hebrew, Arabic, Vietnamese), then Droid Sans Fallback (Chinese,
Japanese), then Nanum Gothic (Korean: Debian's Droid Sans Fallback has no
Hangul). xhtml2pdf draws each character in the first font of the
chain that has its glyph; every font is TrueType, embedded as a subset with a
Unicode map, so the text extracts in any reader.

Files are looked for by name: in `SHEETS_FONT_DIRS` first, then wherever
fontconfig knows fonts to be, then the usual font folders. Whatever is missing
is named by its Debian package; without any of them the chains fall back to
the PDF base-14 faces, which print Latin text only.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.fonts import addMapping  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFError, TTFont  # type: ignore[import-untyped]

log = logging.getLogger("service.fonts")


@dataclass(frozen=True, slots=True)
class Face:
    """One font file: its name in PDFs, where it comes from, the file names it goes by."""

    name: str
    package: str
    files: tuple[str, ...]


_LIBERATION = "fonts-liberation2"
_DEJAVU = "fonts-dejavu-core"
_DROID = "fonts-droid-fallback"
# Debian's Droid Sans Fallback has no Hangul: Korean prints in Nanum Gothic.
_NANUM = "fonts-nanum"

# (regular, bold) per family; Droid has no bold: its regular draws both.
_FAMILIES: dict[str, tuple[Face, Face]] = {
    "LiberationSans": (
        Face("LiberationSans", _LIBERATION, ("LiberationSans-Regular.ttf",)),
        Face("LiberationSans-Bold", _LIBERATION, ("LiberationSans-Bold.ttf",)),
    ),
    "LiberationSerif": (
        Face("LiberationSerif", _LIBERATION, ("LiberationSerif-Regular.ttf",)),
        Face("LiberationSerif-Bold", _LIBERATION, ("LiberationSerif-Bold.ttf",)),
    ),
    "LiberationMono": (
        Face("LiberationMono", _LIBERATION, ("LiberationMono-Regular.ttf",)),
        Face("LiberationMono-Bold", _LIBERATION, ("LiberationMono-Bold.ttf",)),
    ),
    "DejaVuSans": (
        Face("DejaVuSans", _DEJAVU, ("DejaVuSans.ttf",)),
        Face("DejaVuSans-Bold", _DEJAVU, ("DejaVuSans-Bold.ttf",)),
    ),
    "DejaVuSerif": (
        Face("DejaVuSerif", _DEJAVU, ("DejaVuSerif.ttf",)),
        Face("DejaVuSerif-Bold", _DEJAVU, ("DejaVuSerif-Bold.ttf",)),
    ),
    "DejaVuSansMono": (
        Face("DejaVuSansMono", _DEJAVU, ("DejaVuSansMono.ttf",)),
        Face("DejaVuSansMono-Bold", _DEJAVU, ("DejaVuSansMono-Bold.ttf",)),
    ),
    "NanumGothic": (
        Face("NanumGothic", _NANUM, ("NanumGothic.ttf",)),
        Face("NanumGothic-Bold", _NANUM, ("NanumGothicBold.ttf",)),
    ),
}
_DROID_FACE = Face("DroidSansFallback", _DROID, ("DroidSansFallbackFull.ttf", "DroidSansFallback.ttf"))
FACES: tuple[Face, ...] = (*(face for pair in _FAMILIES.values() for face in pair), _DROID_FACE)
PACKAGES: tuple[str, ...] = (_LIBERATION, _DEJAVU, _DROID, _NANUM)

CHAINS: dict[str, tuple[str, ...]] = {
    "sans": ("LiberationSans", "DejaVuSans", "DroidSansFallback", "NanumGothic"),
    # DejaVu Serif has no Arabic: DejaVu Sans draws it.
    "serif": ("LiberationSerif", "DejaVuSerif", "DejaVuSans", "DroidSansFallback", "NanumGothic"),
    "mono": ("LiberationMono", "DejaVuSansMono", "DroidSansFallback", "NanumGothic"),
}
# The base-14 faces (xhtml2pdf's names) when a chain has no font at all.
_BASE14 = {"sans": "helvetica", "serif": "times", "mono": "courier"}

_SERIF_NAMES = frozenset(
    {"times new roman", "times", "georgia", "garamond", "cambria", "book antiqua", "serif"}
)
_MONO_NAMES = frozenset({"courier new", "courier", "consolas", "lucida console", "monospace"})

# What prints for a character no font of its chain has, best first: each
# chain has at least the last.
REPLACEMENTS = ("\ufffd", "\u25a1", "?")

USUAL_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local" / "share" / "fonts",
    Path.home() / ".fonts",
)

# One sample per script the README promises, to say what prints (`sheets config`).
SCRIPT_SAMPLES: dict[str, str] = {
    "Latin": "Aé",
    "Vietnamese": "ệữ",
    "Greek": "Ωλ",
    "Cyrillic": "Жя",
    "Hebrew": "של",
    "Arabic": "مر",
    "Chinese": "李龍",
    "Japanese": "あア",
    "Korean": "한글",
}


def chain_for(font_name: object) -> str:
    """Which chain a sheet's FontName prints in: "sans", "serif" or "mono"."""
    name = font_name.strip().lower() if isinstance(font_name, str) else ""
    if name in _SERIF_NAMES:
        return "serif"
    if name in _MONO_NAMES:
        return "mono"
    return "sans"


def _fontconfig_files() -> list[Path]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run(  # noqa: S603
            [fc_list, "--format=%{file}\\n"], capture_output=True, check=True, timeout=10, text=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [Path(line) for line in out.splitlines() if line.strip()]


def _walk(folder: Path) -> Iterator[Path]:
    try:
        for root, _dirs, files in os.walk(folder):
            for name in files:
                yield Path(root) / name
    except OSError:
        return


def find_fonts(font_dirs: Sequence[Path] = (), *, system: bool = True) -> FontSet:
    """The font files of `FACES` found: `font_dirs` first, then fontconfig's, then the usual folders.

    `system` False looks in `font_dirs` only (tests that want a host without fonts).
    """
    wanted = {file: face for face in FACES for file in face.files}
    found: dict[str, Path] = {}

    def offer(paths: Iterable[Path]) -> None:
        for path in paths:
            face = wanted.get(path.name)
            # A face's first file name is preferred (the "Full" Droid), and
            # an earlier source always wins over a later one.
            if face is None or path.is_dir():
                continue
            current = found.get(face.name)
            if current is None or (
                face.files.index(path.name) < face.files.index(current.name) and current.parent == path.parent
            ):
                found[face.name] = path

    for folder in font_dirs:
        offer(_walk(Path(folder)))
    if system:
        offer(_fontconfig_files())
        for folder in USUAL_DIRS:
            offer(_walk(folder))
    return FontSet(found)


@dataclass(frozen=True)
class FontSet:
    """Face name -> the file it is read from."""

    files: Mapping[str, Path]

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.files.items())))

    def missing_packages(self) -> list[str]:
        """The Debian packages whose fonts were not found, in `PACKAGES` order."""
        missing = {face.package for face in FACES if face.name not in self.files}
        return [package for package in PACKAGES if package in missing]

    def families(self, chain: str) -> list[str]:
        """The families of a chain that are there, in order; the base-14 face when none is."""
        present = [family for family in CHAINS[chain] if self._regular(family) in self.files]
        return present or [_BASE14[chain]]

    @staticmethod
    def _regular(family: str) -> str:
        return _FAMILIES[family][0].name if family in _FAMILIES else _DROID_FACE.name


_registered: dict[str, Path] = {}
_registry_lock = threading.Lock()


def register(fonts: FontSet) -> Palette:
    """Register the fonts with reportlab and xhtml2pdf (once per process and file) and say how to use them."""
    from xhtml2pdf import default  # the family names xhtml2pdf resolves font-family against

    with _registry_lock:
        for face in FACES:
            path = fonts.files.get(face.name)
            if path is None or _registered.get(face.name) == path:
                continue
            try:
                pdfmetrics.registerFont(TTFont(face.name, str(path)))
            except (TTFError, OSError) as exc:
                log.warning("font %s (%s) could not be read: %s", face.name, path, exc)
                continue
            _registered[face.name] = path
        for family, (regular, bold) in (
            *_FAMILIES.items(),
            ("DroidSansFallback", (_DROID_FACE, _DROID_FACE)),
        ):
            if regular.name not in _registered:
                continue
            heavy = bold.name if bold.name in _registered else regular.name
            for italic in (0, 1):
                addMapping(family, 0, italic, regular.name)
                addMapping(family, 1, italic, heavy)
            default.DEFAULT_FONT[family.lower()] = family
        usable = FontSet({name: path for name, path in fonts.files.items() if name in _registered})
    return Palette(usable)


class Palette:
    """The registered fonts as a render uses them: CSS font-family lists and glyph coverage."""

    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self.css = {chain: ", ".join(fonts.families(chain)) for chain in CHAINS}
        self.first_font = next(
            (family for family in fonts.families("sans") if family in _registered), "Helvetica"
        )
        self._coverage: dict[str, list[frozenset[int] | None]] = {
            chain: [_coverage(family) for family in fonts.families(chain)] for chain in CHAINS
        }
        self._replacement = {
            chain: next((r for r in REPLACEMENTS if self.has_glyph(chain, r)), "?") for chain in CHAINS
        }

    @property
    def embedded(self) -> bool:
        """Whether any TrueType font is registered (else the base-14 faces print)."""
        return bool(self.fonts.files)

    def has_glyph(self, chain: str, char: str) -> bool:
        code = ord(char)
        return any(cover is None or code in cover for cover in self._coverage[chain])

    def font_for(self, chain: str, char: str) -> str | None:
        """The family of the chain that draws `char`, None when none does."""
        code = ord(char)
        for family, cover in zip(self.fonts.families(chain), self._coverage[chain], strict=True):
            if cover is None or code in cover:
                return family
        return None

    def replacement(self, chain: str) -> str:
        return self._replacement[chain]


def _coverage(family: str) -> frozenset[int] | None:
    """The code points a registered family's regular face maps; None for the base-14 (WinAnsi) faces."""
    if family not in _registered:
        return _WIN_ANSI if family in _BASE14.values() else frozenset()
    face = pdfmetrics.getFont(family).face
    return frozenset(face.charToGlyph)


_WIN_ANSI = frozenset(
    ord(bytes([b]).decode("cp1252")) for b in range(32, 256) if b not in (0x7F, 0x81, 0x8D, 0x8F, 0x90, 0x9D)
)


@dataclass(frozen=True, slots=True)
class ScriptCoverage:
    script: str
    chain: str
    font: str | None  # the family that prints the sample; None: nothing does


def coverage_report(fonts: FontSet) -> list[ScriptCoverage]:
    """For each script and chain, which font prints it (for `sheets config`); registers the fonts."""
    palette = register(fonts)
    report = []
    for chain in CHAINS:
        for script, sample in SCRIPT_SAMPLES.items():
            families = {palette.font_for(chain, char) for char in sample}
            font = None if None in families else ", ".join(sorted(f for f in families if f))
            report.append(ScriptCoverage(script, chain, font))
    return report


def describe(fonts: FontSet) -> list[str]:
    """Lines saying which fonts were found, what is missing, and which scripts print (`sheets config`)."""
    lines = [f"font {name}: {path}" for name, path in sorted(fonts.files.items())]
    missing = fonts.missing_packages()
    if missing:
        lines.append("fonts missing: install the Debian packages " + " ".join(missing))
    by_chain: dict[str, list[str]] = {}
    for row in coverage_report(fonts):
        by_chain.setdefault(row.chain, []).append(f"{row.script}={row.font or 'MISSING'}")
    lines += [f"{chain} prints: {', '.join(rows)}" for chain, rows in by_chain.items()]
    return lines


def log_missing(fonts: FontSet) -> None:
    """Say at start which packages would complete the fonts."""
    missing = fonts.missing_packages()
    if missing:
        log.warning(
            "PDF fonts missing: install the Debian packages %s (or point SHEETS_FONT_DIRS at their files); "
            "until then sheets print what the fonts found can draw%s",
            " ".join(missing),
            "" if fonts.files else " (Latin text only, in the PDF base-14 faces)",
        )
