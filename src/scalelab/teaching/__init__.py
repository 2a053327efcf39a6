"""The teaching layer: what the labs, the foundations track and the question bank use.

grading (checks an answer against its exercise), exercises and foundations (which
register the exercises of the labs and of the foundations track), notebooks and lab
(helpers for a notebook), drills (fault drills) and interview (the question bank).

The exercise registry is filled here, by the modules that register: grading itself
imports none of them, so nothing below the teaching layer depends on the lessons.
"""

from scalelab.teaching import exercises, foundations  # noqa: F401  (each registers its exercises)
