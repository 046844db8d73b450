"""Lexical index: BM25 (bm25s) over committed chunks, derived from Chroma and cached on disk.

Input: Store. Output: LexicalIndex.search(query, n, allowed ids) -> [(chunk_id, score)].
The cache key is the store's fingerprint, so any change to the corpus rebuilds it; deleting
the cache folder is always safe. Chinese text is segmented with jieba, English is stemmed.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .indexing import Store
from .text import CJK_RE as _CJK_RE

logger = logging.getLogger(__name__)
_WORD_RE = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[\u3400-\u9fff\uf900-\ufaff]+")
_ZH_STOP = set("的了和与及在是对为把被等中上下以其之或而也并就都要将这那有个")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    """Lower-case, stem English words, segment Chinese runs; drop stop words."""
    tokens: list[str] = []
    stop = _stopwords()
    words: list[str] = []
    for match in _WORD_RE.finditer(text.lower()):
        word = match.group(0)
        if _CJK_RE.match(word):
            for piece in _jieba().lcut_for_search(word):
                if piece not in _ZH_STOP and piece.strip():
                    tokens.append(piece)
        elif word not in stop and len(word) > 1:
            words.append(word)
    tokens.extend(_stemmer().stemWords(words))
    return tokens


# Bumped whenever what is saved changes meaning (3: "langs" marks Chinese chunks of Chinese
# documents).
_FORMAT = 3


@dataclass(frozen=True)
class _Snapshot:
    """One built index and its per-chunk arrays, swapped in as a whole."""

    bm25: Any
    ids: list[str]
    doc_names: list[str]
    doc_of: np.ndarray
    kind_of: np.ndarray
    zh: np.ndarray


_EMPTY = _Snapshot(None, [], [], np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros(0, bool))


class LexicalIndex:
    """BM25 over the committed chunks of a store; rebuilt when the fingerprint changes.

    A process that already has an index keeps serving it while the index of a newer corpus is
    loaded or built in the background (at 100k chunks a build takes ~25 s; the dense channels
    see new documents at once). The writer builds and saves the new index at the end of its
    ingest (Assistant.ingest), so other processes usually only load it.
    """

    def __init__(self, store: Store, cache_dir: Path) -> None:
        """Create the index wrapper; nothing is built until first search.

        Args:
            store: the Chroma store it derives from.
            cache_dir: where built indexes are saved.
        """
        self.store = store
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._fingerprint: str | None = None
        self._snap: _Snapshot | None = None
        self._refresher: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    def _folder(self, fingerprint: str) -> Path:
        return self.cache_dir / f"{self.store.name}-{fingerprint}"

    def ensure(self, *, wait: bool = False) -> None:
        """Make the index match the store's current fingerprint.

        Args:
            wait: load or build now even when an older index could be served meanwhile.
        """
        fingerprint = self.store.fingerprint()
        if fingerprint == self._fingerprint:
            return
        if self._snap is not None and not wait:
            with self._thread_lock:  # not self._lock: a build holds that one for seconds
                if self._refresher is None or not self._refresher.is_alive():
                    self._refresher = threading.Thread(
                        target=self._refresh, args=(fingerprint,), daemon=True
                    )
                    self._refresher.start()
            return
        self._refresh(fingerprint)

    def _refresh(self, fingerprint: str) -> None:
        with self._lock:
            if fingerprint == self._fingerprint:
                return
            folder = self._folder(fingerprint)
            try:
                snap = self._load(folder)
            except Exception:  # missing or damaged cache: rebuild it
                snap = self._build(folder)
            self._snap, self._fingerprint = snap, fingerprint
            for old in self.cache_dir.glob(f"{self.store.name}-*"):
                if old != folder and not old.name.endswith(".tmp"):
                    shutil.rmtree(old, ignore_errors=True)

    def _build(self, folder: Path) -> _Snapshot:
        import bm25s

        ids: list[str] = []
        doc_ids: list[str] = []
        kinds: list[str] = []
        langs: list[str] = []
        corpus_tokens: list[list[str]] = []
        doc_lang = {d: str(r.metadata.get("lang", "en")) for d, r in self.store.registry().items()}
        for page_ids, texts, metas in self.store.committed_chunks():
            for chunk_id, text, meta in zip(page_ids, texts, metas, strict=False):
                ids.append(chunk_id)
                doc_ids.append(str(meta.get("doc_id", "")))
                kinds.append(str(meta.get("kind", "own")))
                # "zh" only for Chinese chunks of Chinese documents: an English brief's Chinese
                # summary is not what an English question's Chinese terms are for
                chunk_lang = str(meta.get("lang", "en"))
                doc_zh = doc_lang.get(doc_ids[-1]) == "zh"
                langs.append("zh" if chunk_lang == "zh" and doc_zh else "other")
                search_text = "\n".join(
                    str(meta.get(k, "")) for k in ("title", "title_zh", "section")
                )
                corpus_tokens.append(tokenize(f"{search_text}\n{text}") or ["__empty__"])
        retriever = bm25s.BM25()
        if corpus_tokens:
            retriever.index(corpus_tokens, show_progress=False)
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, exist_ok=True)
        if corpus_tokens:
            retriever.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(
            json.dumps(
                {"format": _FORMAT, "ids": ids, "doc_ids": doc_ids, "kinds": kinds, "langs": langs}
            ),
            encoding="utf-8",
        )
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)  # atomic publish: a reader sees the whole index or none
        logger.info("built the lexical index over %d chunks", len(ids))
        return _snapshot(retriever if corpus_tokens else None, ids, doc_ids, kinds, langs)

    def _load(self, folder: Path) -> _Snapshot:
        import bm25s

        meta = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        if meta.get("format") != _FORMAT:  # saved by an older version: ensure() rebuilds it
            raise ValueError(f"lexical index format {meta.get('format')}, expected {_FORMAT}")
        retriever = bm25s.BM25.load(str(folder), show_progress=False) if meta["ids"] else None
        return _snapshot(retriever, meta["ids"], meta["doc_ids"], meta["kinds"], meta["langs"])

    def has_chinese(self) -> bool:
        """True when some indexed chunk is Chinese and belongs to a Chinese document."""
        self.ensure()
        return bool((self._snap or _EMPTY).zh.any())

    def search(
        self,
        query: str,
        n: int,
        *,
        sources: list[str] | None = None,
        kinds: list[str] | None = None,
        chinese_only: bool = False,
        exclude: list[str] | None = None,
    ) -> list[tuple[str, float]]:
        """Top n (chunk_id, bm25 score) with score > 0, restricted to sources/kinds/Chinese,
        without the documents in ``exclude``."""
        self.ensure()
        snap = self._snap or _EMPTY  # one consistent index, even if a newer one is swapped in
        tokens = tokenize(query)
        if snap.bm25 is None or not tokens or not snap.ids:
            return []
        mask = np.ones(len(snap.ids), dtype=np.float32)
        if sources:
            wanted = [snap.doc_names.index(s) for s in sources if s in snap.doc_names]
            mask *= np.isin(snap.doc_of, wanted)
        if kinds:
            kind_names = ["paper", "policy", "own"]
            mask *= np.isin(snap.kind_of, [kind_names.index(k) for k in kinds if k in kind_names])
        if chinese_only:
            mask *= snap.zh
        if exclude:
            dropped = [snap.doc_names.index(s) for s in exclude if s in snap.doc_names]
            mask *= ~np.isin(snap.doc_of, dropped)
        if not mask.any():
            return []
        vocab = snap.bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return []
        docs, scores = snap.bm25.retrieve(
            [known], k=min(n, len(snap.ids)), show_progress=False, weight_mask=mask, n_threads=1
        )
        return [
            (snap.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=False) if s > 0
        ]


def _snapshot(
    bm25: Any, ids: list[str], doc_ids: list[str], kinds: list[str], langs: list[str]
) -> _Snapshot:
    names = sorted(set(doc_ids))
    index = {n: i for i, n in enumerate(names)}
    kind_names = ["paper", "policy", "own"]
    return _Snapshot(
        bm25=bm25,
        ids=ids,
        doc_names=names,
        doc_of=np.array([index[d] for d in doc_ids], dtype=np.int32),
        kind_of=np.array(
            [kind_names.index(k) if k in kind_names else 2 for k in kinds], dtype=np.int8
        ),
        zh=np.array([lang == "zh" for lang in langs], dtype=bool),
    )
