"""Learning from labelled questions: training rows, cross-validation by statute family, the review queue and `assistant tune`."""
