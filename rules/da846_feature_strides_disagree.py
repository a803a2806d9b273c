from detaudit.rule import Violation, rule

from ._strides import breaches


@rule(code="DA846", name="feature-strides-disagree", severity="error", tier="static", needs=())
def feature_strides_disagree(ctx):
    """The strides a head or RoI extractor declares are not the strides of the feature maps the neck gives it.

    ## What it does
    Reads every list of feature strides the model config declares outside its backbone and
    neck: a dense head's prior generator (``anchor_generator``, ``prior_generator``,
    ``approx_anchor_generator``, ``square_anchor_generator``), a point head's ``strides`` (FCOS,
    YOLOX, FoveaBox...) and each RoI extractor's ``featmap_strides`` (every stage of a cascade;
    not HTC's semantic extractor, which reads its own stride-8 map). It reports, once per key:

    - under a pyramid neck (FPN, PAFPN, NAS-FPN, HRFPN, RFP, CSPNeXt/YOLOX PAFPN, with BFP or
      DyHead after them), strides that are not increasing with each level twice the one before
      (within 1.75 to 2.25 times: YOLACT writes ``550 / feature size``);
    - a first stride other than the pyramid's, where the backbone's stages have the standard
      strides (ResNet family, RegNet, Swin, PVT: stage ``i`` at ``4 * 2**i``, no ``strides`` or
      ``dilations`` set) and the neck, reading one input per stage ``out_indices`` selects,
      starts at ``out_indices[start_level]``;
    - a two-stage detector whose RoI extractors' ``featmap_strides`` are not the first levels of
      its RPN's strides (at the RPN when every extractor agrees, else at the extractor that differs).

    On the 808 zoo configs that load, all three hold without exception (``scripts/zoo_strides.py``
    checks 1,323 stride lists). A count of strides other than the neck's ``num_outs`` is DA815's.

    ## Why is this bad?
    mmdet lays each level's priors ``stride`` pixels apart on that level's grid and never
    compares the stride with the map's real one. Anchors at stride 2 on a stride-4 map sit in
    the top-left quarter of the image: objects elsewhere match no anchor, and training runs
    without an error while the detector never learns them. An RoI extractor with other strides
    than the RPN's maps each box to a level by its size and scales it by the wrong stride, so
    it pools features from the wrong place. More strides than levels fails in the loss with an
    assertion that names no key.

    ## Example
    ```python
    _base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
    # denser anchors for small objects: halves the strides, not the anchors' spacing in the image
    model = dict(rpn_head=dict(anchor_generator=dict(strides=[2, 4, 8, 16, 32])))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
    # smaller anchors on the same levels
    model = dict(rpn_head=dict(anchor_generator=dict(scales=[4], strides=[4, 8, 16, 32, 64])))
    ```
    """
    for key, message, evidence in breaches(ctx.cfg.get("model", None)):
        yield Violation(message=message, key_path=key, evidence=evidence,
                        fix=f"give {key} the strides of the feature maps the neck outputs")
