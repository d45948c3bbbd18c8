"""BLIP-2's embedding model: the frozen ViT-g image encoder + the Q-Former, as used for retrieval.

`model=blip2` loads `Salesforce/blip2-itm-vit-g` into transformers' `Blip2ForImageTextRetrieval`.
Preprocessing: the checkpoint's `BlipImageProcessor` (224×224 bicubic, CLIP mean/std).

Pooling (one vector per image): the Q-Former turns the image into 32 query embeddings; each goes
through the image-text projection (`vision_projection`, 256-d) and is L2-normalised, exactly as in
BLIP-2's image-text contrastive head. BLIP-2 scores a text by its best-matching query (max); one
vector per image needs a fixed pooling, so the vector is the mean of the 32 normalised query
embeddings, re-normalised when `normalize` (the default). Text side: the Q-Former's text encoding
of the prompt, [CLS] token through `text_projection`, normalised — the ITC text embedding.
"""

from __future__ import annotations

import torch

from visframe.embed.encoders.base import Encoder, fingerprint_module, l2_normalize
from visframe.embed.encoders.hf_common import TEXT_CHUNK, load_image_transform, load_tokenizer, tokenize
from visframe.embed.encoders.weights import load_hf


class Blip2Encoder(Encoder):
    supports_text = True

    def __init__(
        self, weights: str = "Salesforce/blip2-itm-vit-g", name: str = "blip2", normalize: bool = True
    ):
        super().__init__(name)
        from transformers import Blip2ForImageTextRetrieval

        self.model = load_hf(
            Blip2ForImageTextRetrieval.from_pretrained, str(weights), "BLIP-2 model", dtype=torch.float32
        )
        self._freeze()
        self.transform, self.decode_size = load_image_transform(str(weights), "BLIP-2")
        # The text side needs the Q-Former's text layers (retrieval checkpoints have them) and a tokenizer.
        has_text_layers = bool(getattr(self.model.config.qformer_config, "use_qformer_text_input", False))
        self.tokenizer = load_tokenizer(str(weights), "BLIP-2") if has_text_layers else None
        self.supports_text = self.tokenizer is not None
        self.normalize = bool(normalize)
        self.model_id = f"hf-blip2:{weights}"
        self.weights_fingerprint = fingerprint_module(self.model)
        self.output_description = {
            "features": "Q-Former query embeddings through vision_projection, each L2-normalised",
            "pooling": "mean over queries",
            "normalize": self.normalize,
        }
        self._dim = int(self.model.config.image_text_hidden_size)

    @torch.inference_mode()
    def query_embeddings(self, pixels: torch.Tensor) -> torch.Tensor:
        """[B, num_query_tokens, D]: the normalised projected query embeddings (BLIP-2's ITC image side)."""
        model = self.model
        image_embeds = model.vision_model(pixel_values=pixels, return_dict=True).last_hidden_state
        image_mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device)
        queries = model.query_tokens.expand(image_embeds.shape[0], -1, -1)
        query_out = model.qformer(
            query_embeds=queries,
            encoder_hidden_states=image_embeds,
            encoder_attention_mask=image_mask,
            return_dict=True,
        ).last_hidden_state
        return l2_normalize(model.vision_projection(query_out.to(model.vision_projection.weight.dtype)))

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        pooled = self.query_embeddings(pixels).mean(dim=1)
        return l2_normalize(pooled) if self.normalize else pooled

    @torch.inference_mode()
    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        if self.tokenizer is None:
            raise RuntimeError(
                f"{self.model_id} can't encode prompts: it has no Q-Former text layers "
                "(use_qformer_text_input) "
                "or no tokenizer files next to the weights; Salesforce/blip2-itm-vit-g has both"
            )
        model = self.model
        max_length = int(model.config.qformer_config.max_position_embeddings)
        chunks = []
        for start in range(0, len(prompts), TEXT_CHUNK):
            tokens = tokenize(self.tokenizer, prompts[start : start + TEXT_CHUNK], max_length, self.device)
            embeds = model.embeddings(input_ids=tokens["input_ids"])
            text_out = model.qformer(
                query_embeds=embeds, query_length=0, attention_mask=tokens["attention_mask"], return_dict=True
            ).last_hidden_state
            cls = text_out[:, 0, :].to(model.text_projection.weight.dtype)
            chunks.append(l2_normalize(model.text_projection(cls)))
        return torch.cat(chunks) if chunks else torch.empty(0, self.dim, device=self.device)
