"""Grading file of the softmax assignment (7 points)."""
from minigen.nn import functional as F


def test_softmax_last_dim(grader, student):
    grader.function(student.softmax, lambda x: F.softmax(x, dim=-1), name="softmax", min_dims=1,
                    points={"forward": 2, "gradient": 2, "gradgrad": 1, "extreme values": 1})


def test_softmax_dim_0(grader, student):
    grader.function(lambda x: student.softmax(x, dim=0), lambda x: F.softmax(x, dim=0),
                    name="softmax over dim 0", min_dims=1, parts=["forward", "gradient"],
                    points=1)
