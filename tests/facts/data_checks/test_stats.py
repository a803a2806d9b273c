"""Statistics of a split: what trains per class, boxes per image, sizes before and after the resize."""
from __future__ import annotations

import numpy as np

from detaudit.facts.data_checks.model import SplitData
from detaudit.facts.data_checks.stats import split_stats


def test_counts_and_sizes():
    s = SplitData("train", "k", "CocoDataset", ("a", "b", "c"), image_ids=[1, 2, 3], image_files=["1", "2", "3"],
                  widths=np.array([200.0, 200.0, 400.0]), heights=np.array([100.0, 100.0, 200.0]),
                  box_image=np.array([0, 0, 1, 2]), boxes=np.array([[0, 0, 10, 10], [0, 0, 20, 5], [5, 5, 45, 45],
                                                                    [0, 0, 100, 100]], float),
                  box_label=np.array([0, 1, 1, -1]), crowd=np.array([False, False, False, True]),
                  ignore=np.zeros(4, bool))
    st = split_stats(s, (400.0, 200.0), [32.0])
    assert st.per_class == {"a": 1, "b": 2, "c": 0} and st.boxes == 3 and st.ignored == 1
    assert st.boxes_per_image == [1, 1, 1]        # one image with none, one with one, one with two
    assert st.sizes == [10.0, 10.0, 40.0]
    assert st.scaled_sizes == [20.0, 20.0, 80.0]  # the 200x100 images are doubled to fit 400x200
    summary = st.summary()
    assert summary["boxes_per_image_max"] == 2 and summary["size_percentiles"][50] == 10.0
