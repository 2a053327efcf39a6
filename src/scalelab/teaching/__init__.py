"""The teaching layer: what the labs, the foundations track and the question bank use.

grading (checks an answer against its exercise), exercises and foundations (which
register the exercises of the labs and of the foundations track), notebooks and lab
(helpers for a notebook), drills (fault drills) and interview (the question bank).
"""
