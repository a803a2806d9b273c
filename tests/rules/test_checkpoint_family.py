"""The backbone family a checkpoint's name states (DA816), on names from mmdet 3.3's model zoo."""
import pytest

from detaudit.rule.checkpoint_family import checkpoint_family, type_family

# (backbone type, checkpoint) pairs the zoo's configs use: each type's family is its checkpoint's
ZOO = [
    ("ResNet", "torchvision://resnet50"), ("ResNet", "open-mmlab://detectron2/resnet101_caffe"),
    ("ResNet", "open-mmlab://jhu/resnet50_gn_ws"), ("DetectoRS_ResNet", "torchvision://resnet101"),
    ("TridentResNet", "open-mmlab://detectron2/resnet50_caffe"),
    ("ResNet", "https://download.openmmlab.com/mmclassification/v0/resnet/"
               "resnet50_8xb256-rsb-a1-600e_in1k_20211228-20e21305.pth"),
    ("ResNeXt", "open-mmlab://resnext101_64x4d"), ("ResNeXt", "open-mmlab://detectron2/resnext101_32x8d"),
    ("ResNeXt", "open-mmlab://jhu/resnext50_32x4d_gn_ws"), ("Res2Net", "open-mmlab://res2net101_v1d_26w_4s"),
    ("ResNeSt", "open-mmlab://resnest50"), ("RegNet", "open-mmlab://regnetx_3.2gf"),
    ("HRNet", "open-mmlab://msra/hrnetv2_w32"), ("MobileNetV2", "open-mmlab://mmdet/mobilenet_v2"),
    ("SSDVGG", "open-mmlab://vgg16_caffe"), ("Darknet", "open-mmlab://darknet53"),
    ("SwinTransformer", "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/"
                        "swin_tiny_patch4_window7_224.pth"),
    ("PyramidVisionTransformerV2", "https://github.com/whai362/PVT/releases/download/v2/pvt_v2_b2.pth"),
    ("mmpretrain.ConvNeXt", "https://download.openmmlab.com/mmclassification/v0/convnext/downstream/"
                            "convnext-tiny_3rdparty_32xb128-noema_in1k_20220301-795e9634.pth"),
    ("CSPNeXt", "https://download.openmmlab.com/mmdetection/v3.0/rtmdet/cspnext_rsb_pretrain/"
                "cspnext-s_imagenet_600e.pth"),
]


@pytest.mark.parametrize("backbone,checkpoint", ZOO)
def test_zoo_pairs_agree(backbone, checkpoint):
    assert type_family(backbone) is not None
    assert checkpoint_family(checkpoint) == type_family(backbone)


def test_resnext_names_and_a_resnext_detector():
    assert checkpoint_family("open-mmlab://resnext101_32x4d") == "ResNeXt" != type_family("ResNet")
    assert checkpoint_family("faster_rcnn_x101_32x4d_fpn_1x_coco_20200203-cff10310.pth") == "ResNeXt"
    assert checkpoint_family("cascade-rcnn_x101-32x4d_fpn_1x_coco.pth") == "ResNeXt"


def test_names_that_state_no_family_or_two():
    assert checkpoint_family("mocov2_r50_800ep_pretrain.pth") is None
    assert checkpoint_family("yolox_s_8x8_300e_coco.pth") is None
    assert checkpoint_family("resnet50_to_swin_distilled.pth") is None
    assert type_family("mmpretrain.TIMMBackbone") is None
