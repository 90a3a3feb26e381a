"""Fine-tuning plumbing without training: validation, split, masking, config, status, adapter checks."""

import json
import os
from pathlib import Path

import pytest

from lab.generation.adapters import base_matches, check_adapter_folder, list_adapters
from lab.model_paths import check_weights
from lab.errors import InputError, ModelError, NotFoundError
from lab.finetune.data import IGNORE, batches, collate, encode, parse_examples, split_examples
from lab.finetune.evaluation import score_answers
from lab.generation.prompts import SYSTEM_PROMPT
from lab.finetune.config import LoraTrainConfig
from lab.finetune.job import STATUS_FILE, TrainingStatus, read_status
from lab.jobs import eta

REPO = Path(__file__).resolve().parent.parent
PAIR = '{"prompt": "Question: 2+2?", "completion": "4"}'


def test_both_formats_parse_with_the_lab_system_prompt():
    chat = json.dumps({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]})
    own = json.dumps({"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"},
                                   {"role": "assistant", "content": "Yo"}]})
    examples = parse_examples("\n".join([PAIR] * 8 + [chat, "", own]))
    assert len(examples) == 10
    assert examples[0].messages == [{"role": "system", "content": SYSTEM_PROMPT},
                                    {"role": "user", "content": "Question: 2+2?"}]
    assert examples[8].completion == "Hello" and examples[8].messages[0]["content"] == SYSTEM_PROMPT
    assert examples[10 - 1].messages[0]["content"] == "Be terse." and examples[9].line == 11


def test_errors_name_their_lines():
    bad = [PAIR] * 10 + ["{not json", '{"prompt": "x"}', "[1, 2]",
                         '{"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "q"}]}']
    with pytest.raises(InputError) as info:
        parse_examples("\n".join(bad), "set.jsonl")
    message = str(info.value)
    for line in ("line 11: not valid JSON", "line 12: expected non-empty", "line 13: expected a JSON object",
                 "line 14: the last message must be"):
        assert line in message
    assert message.startswith("set.jsonl:")


def test_too_few_examples_is_refused():
    with pytest.raises(InputError, match="at least 10"):
        parse_examples("\n".join([PAIR] * 5))


def test_split_is_80_10_10_deterministic_and_disjoint():
    items = list(range(101))
    train, val, test = split_examples(items, seed=3)
    assert (len(train), len(val), len(test)) == (81, 10, 10)
    assert sorted(train + val + test) == items
    assert split_examples(items, seed=3) == (train, val, test)
    assert split_examples(items, seed=4) != (train, val, test)


def test_batches_cover_every_example_once_and_group_lengths():
    lengths = [5, 50, 6, 51, 7, 52, 8, 53]
    groups = batches(lengths, 2, seed=0)
    assert sorted(i for g in groups for i in g) == list(range(8))
    assert all(abs(lengths[g[0]] - lengths[g[-1]]) < 10 for g in groups)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from lab.generation.embedded import default_model_folder

    return AutoTokenizer.from_pretrained(str(default_model_folder()))


@pytest.mark.model  # the embedded model's tokenizer (transformers)
def test_masking_covers_the_completion_and_end_of_turn_only(tokenizer):
    example = parse_examples("\n".join([PAIR] * 10))[0]
    ids, labels = encode(example, tokenizer)
    learned = [t for t, label in zip(ids, labels) if label != IGNORE]
    assert tokenizer.decode(learned) == "4<|im_end|>"
    prompt = tokenizer.apply_chat_template(example.messages, add_generation_prompt=True, tokenize=False)
    assert tokenizer.decode(ids[:labels.index(learned[0])]) == prompt  # the prompt is the inference prompt


@pytest.mark.model  # collate builds torch tensors
def test_collate_pads_left_so_completions_end_each_row():
    ids, mask, positions, labels = collate([([1, 2, 3], [IGNORE, 2, 3]), ([4], [4])], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert positions.tolist() == [[0, 1, 2], [0, 0, 0]]
    assert labels.tolist() == [[IGNORE, 2, 3], [IGNORE, IGNORE, 4]]


@pytest.mark.parametrize("field, value", [("rank", 0), ("dropout", 0.9), ("lr", 1.0), ("targets", ()),
                                          ("epochs", 0), ("max_length", 8), ("batch_size", 0), ("targets", ("q proj",))])
def test_config_validation_names_the_field(field, value):
    with pytest.raises(InputError, match=f"LoraTrainConfig.{field} must be"):
        LoraTrainConfig(**{field: value})


def test_config_has_help_for_every_field():
    assert all(LoraTrainConfig.help().values())
    assert LoraTrainConfig(targets=(" q_proj", "v_proj ", "")).targets == ("q_proj", "v_proj")


def test_eta_and_scores():
    assert eta(10.0, 2, 10) == 40.0 and eta(0.0, 0, 10) is None
    good = '{"answer": "x", "sources": [1], "confidence": "high"}'
    # compliance counts the examples whose reference is in the format: the plain reference "z" is not
    assert score_answers([good, "y"], [good, "z"], True) == {"exact_match": 0.5, "token_f1": 0.5, "json_format": 1.0}
    assert score_answers(["y", "y"], [good, "z"], True)["json_format"] == 0.0
    assert score_answers(["Paris."], ["Paris"], False)["json_format"] is None


def test_a_running_status_from_a_dead_process_reads_as_interrupted(tmp_path):
    status = TrainingStatus(step=3, total_steps=10, pid=2 ** 22 + 12345)
    (tmp_path / STATUS_FILE).write_text(json.dumps(status.__dict__))
    assert read_status(tmp_path).state == "interrupted"
    status.pid = os.getpid()  # this process, but no job of it writes there
    (tmp_path / STATUS_FILE).write_text(json.dumps(status.__dict__))
    assert read_status(tmp_path).state == "interrupted"
    assert read_status(tmp_path / "nothing") is None


@pytest.mark.model  # LocalGenerator imports torch before it looks at the folder
def test_a_pickle_only_model_folder_is_refused(tmp_path):
    from lab.generation.models import LocalGenerator

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x02")
    with pytest.raises(ModelError, match="only pickle weights"):
        LocalGenerator(str(tmp_path))


def test_adapter_folder_checks_and_listing(tmp_path):
    with pytest.raises(NotFoundError, match="not a LoRA adapter folder"):
        check_adapter_folder(tmp_path)
    folder = tmp_path / "a1"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/Base-1B"}))
    (folder / "adapter_model.bin").write_bytes(b"\x80\x02")
    with pytest.raises(ModelError, match="safetensors only"):
        check_adapter_folder(folder)
    (folder / "manifest.json").write_text(json.dumps({"base_model": "Base-1B", "date": "2025-01-01"}))
    [info] = list_adapters(tmp_path)
    assert (info.name, info.base_model) == ("a1", "Base-1B")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no"):
        check_weights(tmp_path / "empty", "The folder")


def test_base_model_matching():
    assert base_matches("SmolLM2-135M-Instruct", ["SmolLM2-135M-Instruct", "/x/models/SmolLM2-135M-Instruct"])
    assert base_matches("HuggingFaceTB/SmolLM2-135M-Instruct", ["SmolLM2-135M-Instruct"])
    assert not base_matches("Qwen/Qwen2.5-0.5B", ["SmolLM2-135M-Instruct", "/x/SmolLM2-135M-Instruct"])
    assert base_matches(None, ["anything"])


def test_train_command_rejects_bad_settings_before_loading_anything(tmp_path, capsys):
    from lab.cli import main

    code = main(["train", "--data", str(REPO / "sample_corpus" / "finetune_knowledge.jsonl"),
                 "--out", str(tmp_path / "x"), "--rank", "0", "--json"])
    assert code == 2
    assert json.loads(capsys.readouterr().out.splitlines()[0])["error"].startswith("LoraTrainConfig.rank")


@pytest.fixture
def fake_loop(monkeypatch):
    """TrainingJob with the model work replaced: a loop that reports steps until cancelled."""
    import time as _time

    import lab.finetune.loop as loop

    def fake_train(model, tokenizer, examples, cfg, device, report, check_cancel, splits=None):
        for step in range(1, 1000):
            check_cancel()
            if cfg.seed == 99:
                raise InputError("Every training example is longer than max_length=32 tokens: raise it.")
            report(step=step, total_steps=1000, train_losses=[[step, 1.0]])
            _time.sleep(0.01)

    monkeypatch.setattr(loop, "load_for_training", lambda base, cfg: (None, None, "cpu", "fake-base"))
    monkeypatch.setattr(loop, "train_loop", fake_train)
    monkeypatch.setattr(loop, "check_targets", lambda base, targets: None)  # reads the model's config


def _data(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join([PAIR] * 10))
    return path


def test_a_cancelled_job_saves_nothing_and_says_so(fake_loop, tmp_path):
    from lab.finetune.job import TrainingJob

    job = TrainingJob(_data(tmp_path), tmp_path / "out", LoraTrainConfig()).start()
    deadline = __import__("time").time() + 10
    while job.status.step < 3 and __import__("time").time() < deadline:
        job.wait(0.05)
    job.cancel()
    status = job.wait(10).status
    assert status.state == "cancelled" and "nothing saved" in status.message
    assert read_status(tmp_path / "out").state == "cancelled"
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_failed_job_reports_why(fake_loop, tmp_path):
    from lab.finetune.job import TrainingJob

    status = TrainingJob(_data(tmp_path), tmp_path / "out", LoraTrainConfig(seed=99)).start().wait(10).status
    assert status.state == "failed" and "max_length=32" in status.message
    assert read_status(tmp_path / "out").state == "failed"


def test_the_evaluation_reports_answers_as_they_are_generated():
    from lab.config import DecodingConfig
    from lab.finetune.evaluation import _batched
    from lab.generation.models import Generation

    class Echo:
        def generate(self, conversations, decoding, adapter=None, **_):
            return [Generation(f"a{len(c)}", 1, 1, 0.0) for c in conversations]

    reported: list[int] = []
    texts = _batched(Echo(), [[{"role": "user", "content": str(i)}] for i in range(19)], DecodingConfig(8), None,
                     lambda: None, reported.append, size=8)
    assert len(texts) == 19 and reported == [8, 8, 3]
