"""The baseline the audit is measured against: a hand-written "deep check" as in the seed
report: import mmdet, load the config, build the model, then predict and a loss forward
with backward at 512x640, batch 2. Run as a separate process by audit_vs_deep_check.py."""
import sys


def main(config: str) -> None:
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope

    from detaudit.facts.synthetic import make_batch

    cfg = Config.fromfile(config)
    init_default_scope(cfg.get("default_scope", "mmdet"))
    model = MODELS.build(cfg.model)
    model.eval()
    with torch.no_grad():
        model(**make_batch(cfg, model, (512, 640), 2, training=False), mode="predict")
    model.train()
    losses = model(**make_batch(cfg, model, (512, 640), 2, training=True), mode="loss")
    total, _ = model.parse_losses(losses)
    total.backward()


if __name__ == "__main__":
    main(sys.argv[1])
