"""Zero-shot labels (describe owns them): cosine scores against the prompts, top labels, per-cluster
shares, and clean skips for encoders without a usable text side (image-only, or no tokenizer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from describe_helpers import PROMPTS, FakeTextEncoder, ImageOnlyEncoder, fake_vectors
from PIL import Image

from visframe import contracts as C
from visframe.describe import describe_clusters, join_posts
from visframe.describe.zero_shot import ZeroShotSkipped, zero_shot_labels

NO_OTHER_WORK = {"zero_shot": {"prompts": PROMPTS}}


def test_top_label_follows_the_encoder(run):
    ids = list(run["assignments"]["image_id"])
    vectors, vector_ids, expected = fake_vectors(ids)
    labels = zero_shot_labels(FakeTextEncoder(), vectors, vector_ids, ids, PROMPTS, "v-test")
    assert labels["image_id"].is_unique and set(labels["image_id"]) == set(ids)
    assert dict(zip(labels["image_id"], labels["top_label"])) == expected
    assert list(labels.columns) == ["image_id", "top_label", "top_score", "prompt_set_version", *PROMPTS]
    assert (labels["prompt_set_version"] == "v-test").all()
    # scores are cosine similarities: text vectors are unit axes, so score_i = v_i / |v|
    row = vector_ids.index(labels["image_id"].iloc[0])
    unit = vectors[row] / np.linalg.norm(vectors[row])
    assert labels.iloc[0][PROMPTS].to_numpy(dtype=float) == pytest.approx(unit[: len(PROMPTS)], abs=1e-6)
    assert labels.iloc[0]["top_score"] == pytest.approx(unit[: len(PROMPTS)].max(), abs=1e-6)


def test_cluster_shares_count_posts(run):
    posts = join_posts(run["manifest"], run["assignments"])
    vectors, vector_ids, expected = fake_vectors(list(posts["image_id"]))
    result = describe_clusters(posts, None, NO_OTHER_WORK, FakeTextEncoder(), vectors, vector_ids)
    assert dict(zip(result.zero_shot["image_id"], result.zero_shot["top_label"])) == expected
    shares = result.terms[(result.terms["kind"] == "zero_shot") & (result.terms[C.LAYER] == 0)]
    assert len(shares) == 4 * len(PROMPTS)  # every label listed for every cluster, zeros too
    chosen = result.clusters[result.clusters[C.IS_CHOSEN_LAYER]].set_index(C.CLUSTER)
    for cluster, group in shares.groupby("cluster"):
        assert group["share"].sum() == pytest.approx(1.0)
        members = posts[posts["cluster"] == cluster]
        want = members["image_id"].map(expected).value_counts()
        got = group.set_index("term")["count"]
        assert all(got[label] == want.get(label, 0) for label in PROMPTS)
        top = want.sort_values(ascending=False)
        assert chosen.loc[cluster, C.ZERO_SHOT_LABELS][0] in set(top[top == top.max()].index)


def test_image_only_encoder_is_skipped_with_a_reason(run):
    ids = list(run["assignments"]["image_id"])
    vectors, vector_ids, _ = fake_vectors(ids)
    with pytest.raises(ZeroShotSkipped, match="image-only"):
        zero_shot_labels(ImageOnlyEncoder(), vectors, vector_ids, ids, PROMPTS, "v")
    with pytest.raises(ZeroShotSkipped, match="no image embeddings"):
        zero_shot_labels(FakeTextEncoder(), None, None, ids, PROMPTS, "v")
    posts = join_posts(run["manifest"], run["assignments"])
    result = describe_clusters(posts, None, NO_OTHER_WORK, ImageOnlyEncoder(), vectors, vector_ids)
    assert result.zero_shot is None and any("image-only" in n for n in result.notes)
    assert result.clusters[C.ZERO_SHOT_LABELS].map(len).eq(0).all()


def test_misaligned_inputs_are_clear_errors(run):
    ids = list(run["assignments"]["image_id"])
    vectors, vector_ids, _ = fake_vectors(ids)
    with pytest.raises(ValueError, match="no embedding"):
        zero_shot_labels(FakeTextEncoder(), vectors[1:], vector_ids[1:], ids, PROMPTS, "v")
    with pytest.raises(ValueError, match="shape"):
        zero_shot_labels(FakeTextEncoder(), vectors[:, :4], vector_ids, ids, PROMPTS, "v")


def _tiny_clip_dir(path, tokenizer: bool = True):
    """A randomly initialised CLIP (16-d projections) with a byte-level tokenizer, saved like a hub folder."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab = {
        t: i for i, t in enumerate(["<|startoftext|>", "<|endoftext|>", *chars, *(c + "</w>" for c in chars)])
    }
    config = CLIPConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "pad_token_id": 1,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    torch.manual_seed(0)
    model = CLIPModel(config).eval()
    model.save_pretrained(path)
    if tokenizer:
        CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        path
    )
    return model


@pytest.mark.slow  # 18 s on an idle 2-core machine (a CLIP forward pass for the logits to compare)
def test_tiny_random_clip_agrees_with_clip_logits(run, tmp_path):
    """The project's CLIP encoder on a tiny random CLIP: describe's top label is CLIP's own argmax,
    and the clusters' zero-shot labels are their posts' most frequent top labels."""
    hf_clip = pytest.importorskip("visframe.embed.encoders.hf_clip")
    model = _tiny_clip_dir(tmp_path / "clip")
    encoder = hf_clip.CLIPEncoder(weights=str(tmp_path / "clip"), name="tiny_clip")
    assert encoder.supports_text
    manifest = run["manifest"][run["manifest"]["status"] == "ok"].drop_duplicates("image_id").head(12)
    pixels = torch.stack([encoder.preprocess(Image.open(p).convert("RGB")) for p in manifest["path"]])
    vectors = encoder.encode_images(pixels).numpy()
    labels = zero_shot_labels(
        encoder, vectors, list(manifest["image_id"]), list(manifest["image_id"]), PROMPTS, "v"
    )
    from transformers import CLIPTokenizer

    tokens = CLIPTokenizer.from_pretrained(tmp_path / "clip")(PROMPTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(
            input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"], pixel_values=pixels
        ).logits_per_image
    expected = [PROMPTS[i] for i in logits.argmax(dim=1).tolist()]
    assert labels["top_label"].tolist() == expected
    assert labels["top_score"].to_numpy() == pytest.approx(
        (logits.max(dim=1).values / model.logit_scale.exp()).detach().numpy(), abs=1e-5
    )
    posts = join_posts(run["manifest"], run["assignments"])
    posts = posts[posts["image_id"].isin(manifest["image_id"])]
    result = describe_clusters(posts, None, NO_OTHER_WORK, encoder, vectors, list(manifest["image_id"]))
    top = dict(zip(manifest["image_id"], expected))
    for row in result.clusters[result.clusters[C.IS_CHOSEN_LAYER]].itertuples():
        counts = posts.loc[posts["cluster"] == row.cluster, "image_id"].map(top).value_counts()
        assert row.zero_shot_labels[0] in set(counts[counts == counts.max()].index)


def test_clip_without_tokenizer_is_skipped_with_the_reason(run, tmp_path):
    """A CLIP folder without tokenizer files has no text side: the encoder says so, describe skips."""
    hf_clip = pytest.importorskip("visframe.embed.encoders.hf_clip")
    _tiny_clip_dir(tmp_path / "clip", tokenizer=False)
    # transformers 5 gives an empty 2-token tokenizer for such a folder; older versions give None
    encoder = hf_clip.CLIPEncoder(weights=str(tmp_path / "clip"), name="tiny_clip")
    assert not encoder.supports_text
    posts = join_posts(run["manifest"], run["assignments"])
    vectors, vector_ids, _ = fake_vectors(list(posts["image_id"]))
    for tokenizer in (encoder.tokenizer, None):
        encoder.tokenizer = tokenizer
        result = describe_clusters(posts, None, NO_OTHER_WORK, encoder, vectors, vector_ids)
        assert result.zero_shot is None
        assert any("no tokenizer" in n or "image-only" in n for n in result.notes)
        assert result.clusters[C.NAME].str.len().gt(0).all()


def test_text_not_supported_from_encode_text_is_a_skip(run):
    from visframe.embed.encoders.base import TextNotSupportedError

    class SaysTextButHasNone(FakeTextEncoder):
        def encode_text(self, prompts):
            raise TextNotSupportedError("no text tower in this checkpoint")

    posts = join_posts(run["manifest"], run["assignments"])
    vectors, vector_ids, _ = fake_vectors(list(posts["image_id"]))
    result = describe_clusters(posts, None, NO_OTHER_WORK, SaysTextButHasNone(), vectors, vector_ids)
    assert result.zero_shot is None and any("no text tower" in n for n in result.notes)
