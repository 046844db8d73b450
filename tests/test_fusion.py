"""reciprocal_rank_fusion: a pure function, tested with its edge cases."""

from __future__ import annotations

import pytest

from assistant.fusion import RRF_K, reciprocal_rank_fusion


class TestReciprocalRankFusion:
    def test_agreement_beats_a_single_first_place(self):
        fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "a"], ["b", "a"]])
        assert fused[0][0] == "b"

    def test_scores_follow_the_formula(self):
        fused = dict(reciprocal_rank_fusion([["a", "b"], ["b"]]))
        assert fused["a"] == pytest.approx(1 / (RRF_K + 1))
        assert fused["b"] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))

    @pytest.mark.parametrize("lists", [[], [[]], [[], []]])
    def test_empty_input(self, lists):
        assert reciprocal_rank_fusion(lists) == []

    def test_single_list_keeps_its_order(self):
        assert [i for i, _ in reciprocal_rank_fusion([["x", "y", "z"]])] == ["x", "y", "z"]

    def test_duplicates_inside_a_list_count_once(self):
        fused = dict(reciprocal_rank_fusion([["a", "a", "b"]]))
        assert fused["a"] == pytest.approx(1 / (RRF_K + 1))

    def test_ties_are_broken_by_id(self):
        fused = reciprocal_rank_fusion([["b"], ["a"]])
        assert [i for i, _ in fused] == ["a", "b"]

    def test_weights(self):
        fused = reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0, 2.0])
        assert fused[0][0] == "b"

    def test_zero_weights(self):
        fused = reciprocal_rank_fusion([["a"], ["b"]], weights=[0.0, 0.0])
        assert {i for i, _ in fused} == {"a", "b"}
        assert all(score == 0 for _, score in fused)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"weights": [1.0]}, "weights"),
            ({"weights": [-1.0, 1.0]}, "non-negative"),
            ({"k": 0}, "k"),
        ],
    )
    def test_bad_arguments(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            reciprocal_rank_fusion([["a"], ["b"]], **kwargs)
