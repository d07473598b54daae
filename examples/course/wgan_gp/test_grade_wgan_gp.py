"""Grading file of the WGAN-GP assignment (5 points), against minigen.models.adversarial."""


def test_gradient_penalty(grader, student):
    grader.gradient_penalty(student.gradient_penalty, points={
        "value": 1, "all non-batch dims": 2, "interpolation": 1, "critic gradient": 1})
